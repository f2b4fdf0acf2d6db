"""The OCR string-match floor: BM25 between a query's words and a video's OCR words, no learning.

On a corpus whose queries quote the scene text, matching the quoted words against what OCR read is
the baseline every learned model has to beat ("how far does plain string matching get you?"). This
module scores that floor with the TextVR protocol of :mod:`tcd.eval` and late-fuses it with a
model's scores, the fusion weight chosen on a validation split carved out of the training videos.

Tokens are :func:`tcd.ocr.text_words`'s (upper-cased ASCII alphanumeric runs) on both sides, so
"tesco," and "TESCO" meet as TESCO. BM25 is the ``bm25s`` library's default variant, Lucene's
(Kamphuis et al., ECIR 2020): idf = ln(1 + (N - df + 0.5) / (df + 0.5)), term part
tf / (tf + k1 (1 - b + b L / avgL)), no (k1 + 1) factor; N counts every video, textless ones too,
so they also pull the average length avgL down.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from tcd.corpus.textvr import OcrTrack, captions_and_targets, read_tracks
from tcd.eval import retrieval_metrics, summarise_variant
from tcd.ocr import text_words

VARIANT = "lexical"


def video_documents(tracks_per_video: Sequence[Sequence[OcrTrack]]) -> list[list[str]]:
    """Each video's OCR words as a BM25 document: the distinct words of each track, once per track.

    A track is one text instance followed through time, so a sign read on 40 frames counts once,
    while a word shown by two separate instances (two signs, or the same sign leaving and coming
    back) counts twice: term frequency = how many instances show it, not how long they stay on
    screen. Sorted within a track, so the document does not depend on set order.
    """
    return [[word for track in tracks for word in sorted(text_words(track.text))] for tracks in tracks_per_video]


def _misread_as(ocr_words: set[str], query_words: set[str], fuzzy: float) -> dict[str, str]:
    """OCR word -> the query word it is taken to be a misread of (fuzzy matching).

    An OCR word that is not itself a query word maps to its most similar query word when the
    normalised Levenshtein similarity 1 - distance / max(len) is >= ``fuzzy`` (ties: the
    alphabetically first). 0.8 admits one substitution in a five-letter word, TESCO/TESC0, the
    measure and threshold the track linker uses for misreads (`tcd.ocr.link_tracks`); words of
    four letters or fewer then still need an exact match.
    """
    if not 0.0 < fuzzy <= 1.0:
        raise ValueError(f"fuzzy must be in (0, 1], got {fuzzy}")
    targets = sorted(query_words)
    candidates = sorted(ocr_words - query_words)
    if not targets or not candidates:
        return {}
    target_len = np.array([len(t) for t in targets])
    mapping = {}
    for start in range(0, len(candidates), 256):  # blocks: TextVR's word lists would need GBs at once
        block = candidates[start:start + 256]
        sims = _similarities(block, targets, target_len)
        best = sims.argmax(axis=1)  # first maximum: the alphabetically first of tied query words
        mapping.update({w: targets[j] for w, j, s in zip(block, best, sims[np.arange(len(block)), best])
                        if s >= fuzzy - 1e-9})
    return mapping


def _similarities(words: list[str], targets: list[str], target_len: np.ndarray) -> np.ndarray:
    """1 - Levenshtein distance / max(len), [words, targets]. From integer distances, not rapidfuzz's
    normalized_similarity with a score_cutoff: rapidfuzz 3.14 turns a cutoff of 0.8 into a distance
    cutoff of 0.19999999999999996 and so drops exactly the 0.8 (TESCO/TESC0) it should keep."""
    dist = process.cdist(words, targets, scorer=Levenshtein.distance, dtype=np.int32, workers=1)
    longest = np.maximum(np.array([len(w) for w in words])[:, None], target_len[None, :])
    return 1.0 - dist / np.maximum(longest, 1)


def bm25_scores(captions: Sequence[str], documents: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75,
                fuzzy: float | None = None) -> np.ndarray:
    """BM25 of every caption (row) against every video's OCR document (column), float64 [C, V].

    A caption's words count once each (a set, like `text_words`), so repeating a word in a query
    does not double it. Without OCR words a video scores 0 for every caption, and so does a caption
    sharing no word with any video.

    ``fuzzy`` (off by default): a query word also matches the OCR words within that similarity
    (`_misread_as`). It is done by expanding the query word to those OCR words and counting them as
    one term, i.e. by reading each misread as the word before indexing: its instances add to the
    word's tf and its videos to the word's df. Scoring the misread as a term of its own would pay
    it the high idf of a rare spelling, so a video holding only TESC0 would outrank one holding
    TESCO. An OCR word close to two query words joins the closer one only.
    """
    sim = np.zeros((len(captions), len(documents)))
    if not any(documents):
        return sim
    query_words = [sorted(text_words(c)) for c in captions]  # sorted: sums in a fixed order, bit-identical
    if fuzzy is not None:
        misread = _misread_as(set().union(*map(set, documents)), set().union(*map(set, query_words)), fuzzy)
        documents = [[misread.get(w, w) for w in doc] for doc in documents]
    retriever = bm25s.BM25(k1=k1, b=b, dtype="float64")
    retriever.index([list(d) for d in documents], create_empty_token=False, show_progress=False)
    for row, words in enumerate(query_words):
        ids = retriever.get_tokens_ids(words)
        if ids:
            sim[row] = retriever.get_scores_from_ids(ids)
    return sim


def lexical_similarity(params, split: str, fuzzy: float | None = None,
                       unreadable: list | None = None) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """BM25 scores of ``split``'s whole gallery: ``(sim [C, V], caption_video, video_ids, domains)``.

    Rows and columns line up with :func:`tcd.eval.score_gallery`: every video of the annotation file
    in file order (undecodable ones too: string matching needs no frames), every caption in file
    order, ``caption_video`` its video's column; ``split`` is one of the study's (:func:`tcd.data.split_entries`:
    ``val`` is the held-out part of the training videos). Tracks come from ``params.ocr.source``
    (:func:`tcd.data.ocr_tracks_dir`); a video without a track file has no words, and so has one whose track
    file does not parse: ``unreadable``, when given, receives its ``(video_id, error)``
    (:func:`tcd.corpus.textvr.read_tracks`).
    """
    from tcd.data import ocr_tracks_dir, split_entries  # here, not at the top: tcd.data loads the video decoder

    entries = split_entries(params, split)
    tracks_dir = ocr_tracks_dir(params)
    tracks = []
    for e in entries:
        video_tracks, problem = read_tracks(tracks_dir / e.ocr_path)
        tracks.append(video_tracks)
        if problem not in (None, "missing") and unreadable is not None:
            unreadable.append((e.video_id, problem))
    captions, caption_video = captions_and_targets(entries)
    sim = bm25_scores(captions, video_documents(tracks), fuzzy=fuzzy)
    return sim, caption_video, [e.video_id for e in entries], [e.domain for e in entries]


# ---------------------------------------------------------------------------------------------
# Late fusion with a model's scores


def zscore_rows(sim: np.ndarray) -> np.ndarray:
    """Standardise each caption's scores over the videos (population sd), so BM25 and cosine scales meet.

    Statistics use the finite entries only: a model's -inf columns (undecodable videos,
    `tcd.eval.score_gallery`) stay -inf. A row with no spread (a caption sharing no word with any
    video scores 0 everywhere) becomes 0: it carries no preference, and must not divide by zero.
    """
    sim = np.asarray(sim, dtype=np.float64)
    finite = np.isfinite(sim)
    count = finite.sum(axis=1, keepdims=True)
    values = np.where(finite, sim, 0.0)
    mean = values.sum(axis=1, keepdims=True) / np.maximum(count, 1)
    sd = np.sqrt((np.where(finite, sim - mean, 0.0) ** 2).sum(axis=1, keepdims=True) / np.maximum(count, 1))
    z = np.divide(sim - mean, sd, out=np.zeros_like(sim), where=finite & (sd > 0))
    return np.where(finite, z, sim)


def fuse(sim_model: np.ndarray, sim_lexical: np.ndarray, weight: float) -> np.ndarray:
    """(1 - weight) z(model) + weight z(lexical), per caption (:func:`zscore_rows`).

    A part with weight 0 is left out rather than multiplied by 0, so weight 1 is exactly the
    lexical ranking even where the model scored -inf (0 x -inf would be NaN); in between, an
    undecodable video stays at the model's -inf floor.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {weight}")
    if weight == 0.0:
        return zscore_rows(sim_model)
    if weight == 1.0:
        return zscore_rows(sim_lexical)
    return (1.0 - weight) * zscore_rows(sim_model) + weight * zscore_rows(sim_lexical)


def fusion_curve(sim_model: np.ndarray, sim_lexical: np.ndarray, caption_video: Sequence[int],
                 grid: Sequence[float] = np.linspace(0, 1, 11)) -> pd.DataFrame:
    """T2V metrics of the fused scores at each weight of ``grid`` (one row per weight)."""
    rows = [{"weight": round(float(w), 6), **retrieval_metrics(fuse(sim_model, sim_lexical, round(float(w), 6)),
                                                               caption_video)["t2v"]}
            for w in grid]  # rounded: linspace's 0.6000000000000001 is 0.6 in the tables
    return pd.DataFrame(rows)


def choose_fusion_weight(sim_model_val: np.ndarray, sim_lexical_val: np.ndarray, caption_video_val: Sequence[int],
                         grid: Sequence[float] = np.linspace(0, 1, 11)) -> float:
    """The grid weight with the best T2V R@1 on a VALIDATION split (never the test split, whose numbers
    it would then flatter). Ties: the higher mean of T2V R@1 and R@5, then the smaller weight (less
    reliance on the string match)."""
    curve = fusion_curve(sim_model_val, sim_lexical_val, caption_video_val, grid)
    curve["r1_r5"] = (curve["R@1"] + curve["R@5"]) / 2
    best = curve.sort_values(["R@1", "r1_r5", "weight"], ascending=[False, False, True], kind="stable")
    return float(best["weight"].iloc[0])


# ---------------------------------------------------------------------------------------------
# The evaluate stage's outputs for the floor


def evaluate_lexical(params, fuzzy: float | None = None, variant: str = VARIANT) -> dict:
    """Score the test gallery by string match and write the outputs a model's evaluation writes.

    the metrics (:func:`tcd.eval.write_metrics` of :func:`tcd.eval.metrics_document`, one "seed" 0: BM25 has
    no randomness, so its sd is null), ``<reports>/tables/per_domain/<variant>.csv`` and
    ``<work>/scores/<variant>/sim_seed0.npy`` plus ``seed0.npz`` (every column scored). No video is
    undecodable here: string matching reads no frame. Returns what the notebook shows, with the keys
    of :func:`tcd.eval.evaluate_variant`, and ``unreadable_tracks``: (video id, error) of each track file that did
    not parse (its video is scored as having no words).
    """
    unreadable: list = []
    sim, caption_video, video_ids, domains = lexical_similarity(params, "test", fuzzy, unreadable)
    _save_sim(Path(params.paths.work) / "scores" / variant, 0, sim, caption_video, video_ids)
    return {**summarise_variant(params.paths.reports, variant, {0: sim}, caption_video, domains, 0), "skipped": [],
            "unreadable_tracks": unreadable}


def _save_sim(scores_dir: Path, seed: int, sim: np.ndarray, caption_video: np.ndarray, video_ids: list[str]) -> None:
    scores_dir.mkdir(parents=True, exist_ok=True)
    np.save(scores_dir / f"sim_seed{seed}.npy", sim.astype(np.float32))
    np.savez_compressed(scores_dir / f"seed{seed}.npz", sim=sim.astype(np.float32), caption_video=caption_video,
                        video_ids=np.array(video_ids), scored=np.isfinite(sim).any(axis=0))


# ---------------------------------------------------------------------------------------------
# The fusion stage's outputs

def fused_name(variant: str) -> str:
    return f"{variant}+{VARIANT}"


def evaluate_fusion(params, variant: str) -> dict:
    """Late-fuse ``variant``'s test scores with the string match, the weight chosen per seed on the validation split.

    For each seed of ``train.seeds``: its checkpoint and BM25 both score the validation gallery (training videos
    held out of training, :func:`tcd.data.split_entries`), :func:`choose_fusion_weight` picks the weight there,
    and the test matrix the evaluate stage saved (``<work>/scores/<variant>/sim_seed<k>.npy``) is fused with
    BM25's test matrix at that weight. Writes a variant named :func:`fused_name` as an evaluation does, and
    ``<reports>/tables/fusion/<variant>.csv``: T2V at every grid weight on validation (which chose) and on
    test (shown for the record only), with the chosen weight per seed.
    """
    from tcd.data import load_split_data
    from tcd.eval import score_gallery
    from tcd.model import load_model
    from tcd.train import default_device

    work = Path(params.paths.work)
    val = load_split_data(params, "val")
    lex_val, val_targets, _, _ = lexical_similarity(params, "val")
    lex_test, caption_video, video_ids, domains = lexical_similarity(params, "test")
    sims, curves = {}, []
    for seed in params.train.seeds:
        model = load_model(work / "models" / variant / f"seed{seed}" / "model.pt", map_location=default_device())
        model_val = score_gallery(model, val, params.eval.query_chunk, params.eval.video_chunk)[0].sim.numpy()
        model_test = np.load(work / "scores" / variant / f"sim_seed{seed}.npy").astype(np.float64)
        weight = choose_fusion_weight(model_val, lex_val, val_targets)
        sims[seed] = fuse(model_test, lex_test, weight)
        for split, (m, lex, targets) in {"val": (model_val, lex_val, val_targets),
                                         "test": (model_test, lex_test, caption_video)}.items():
            curves.append(fusion_curve(m, lex, targets).assign(seed=seed, split=split, chosen=lambda c: c.weight == weight))
        _save_sim(work / "scores" / fused_name(variant), seed, sims[seed], caption_video, video_ids)
    undecodable = int((~np.isfinite(np.load(work / "scores" / variant / f"sim_seed{params.train.seeds[0]}.npy"))).all(axis=0).sum())
    result = summarise_variant(params.paths.reports, fused_name(variant), sims, caption_video, domains, undecodable)
    curve = pd.concat(curves, ignore_index=True)
    (Path(params.paths.reports) / "tables" / "fusion").mkdir(parents=True, exist_ok=True)
    curve.to_csv(Path(params.paths.reports) / "tables" / "fusion" / f"{variant}.csv", index=False)
    return {**result, "curve": curve, "val_videos": len(val), "val_captions": len(val_targets)}
