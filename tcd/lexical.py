"""The OCR string-match floor: BM25 between a query's words and a video's OCR words, no learning.

On a corpus whose queries quote the scene text, matching the quoted words against what OCR read is
the baseline every learned model has to beat ("how far does plain string matching get you?"). This
module scores that floor with the TextVR protocol of :mod:`tcd.eval` and late-fuses it with a
model's scores, the fusion weight chosen on a validation split carved out of the training videos.

Tokens are :func:`tcd.ocr.text_words`'s (upper-cased ASCII alphanumeric runs) on both sides, so
"tesco," and "TESCO" meet as TESCO, less the English stopwords of ``bm25s`` (:data:`STOPWORDS`) on both
sides: THE, IN, TO are in subtitles and signs as well as captions, and matching them ranks videos by
noise. BM25 is the ``bm25s`` library's default variant, Lucene's
(Kamphuis et al., ECIR 2020): idf = ln(1 + (N - df + 0.5) / (df + 0.5)), term part
tf / (tf + k1 (1 - b + b L / avgL)), no (k1 + 1) factor; N counts every video, textless ones too,
so they also pull the average length avgL down; lengths count the words left after stopwords.

Late fusion with a model is weighted reciprocal-rank fusion (:func:`fuse`): it reads ranks, not scores, so
the weight chosen on the small validation gallery means the same on a test gallery of any size.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import bm25s
from bm25s.stopwords import STOPWORDS_EN
import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from tcd.corpus.textvr import OcrTrack, captions_and_targets, read_tracks
from tcd.eval import retrieval_metrics, save_scores, summarise_variant
from tcd.ocr import text_words

VARIANT = "lexical"
STOPWORDS = frozenset(word.upper() for word in STOPWORDS_EN)  # bm25s's "en" list, as text_words case it
RRF_K = 60  # reciprocal-rank fusion's constant (Cormack, Clarke & Buettcher, SIGIR 2009), fixed, not tuned
# Weights of the string match tried on validation. With k 60, weight w lifts BM25's first video over the model's
# first when the model ranks it within 61 / (1 - w / (1 - w)) - 60: 8, 21, 46, 122 for 0.1-0.4; from 0.5, always.
FUSION_GRID = tuple(i / 10 for i in range(11))


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
    does not double it. :data:`STOPWORDS` are dropped from captions and documents alike (before
    indexing: they neither match nor count in a document's length). Without OCR words a video
    scores 0 for every caption, and so does a caption sharing no word with any video.

    ``fuzzy`` (off by default): a query word also matches the OCR words within that similarity
    (`_misread_as`). It is done by expanding the query word to those OCR words and counting them as
    one term, i.e. by reading each misread as the word before indexing: its instances add to the
    word's tf and its videos to the word's df. Scoring the misread as a term of its own would pay
    it the high idf of a rare spelling, so a video holding only TESC0 would outrank one holding
    TESCO. An OCR word close to two query words joins the closer one only. Stopwords are gone
    before this, so none is matched fuzzily either (OCR's THEIR is not read as a caption's THEIRS).
    """
    sim = np.zeros((len(captions), len(documents)))
    documents = [[w for w in doc if w not in STOPWORDS] for doc in documents]
    if not any(documents):
        return sim
    query_words = [sorted(text_words(c) - STOPWORDS) for c in captions]  # sorted: sums in a fixed order, bit-identical
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


def reciprocal_ranks(sim: np.ndarray, k: int = RRF_K) -> np.ndarray:
    """1 / (k + rank) of every entry of each caption's row, rank 1-based over the videos, ties averaged (as the
    protocol's ranks are, :mod:`tcd.eval`), so tied videos get equal shares whatever their column order."""
    ranks = pd.DataFrame(np.asarray(sim, dtype=np.float64)).rank(axis=1, method="average", ascending=False)
    return 1.0 / (k + ranks.to_numpy())


def fuse(sim_model: np.ndarray, sim_lexical: np.ndarray, weight: float, k: int = RRF_K) -> np.ndarray:
    """Weighted reciprocal-rank fusion, per caption: (1 - weight) / (k + rank_model) + weight / (k + rank_BM25).

    Ranks, not scores: a video's share depends on the videos ranked above it (and half of those tied with it),
    never on those below, so a weight means the same on a gallery of 24 videos as on one of 2,727. A video the string match
    did not retrieve (BM25 0: no shared word) gets nothing from it, as a document missing from a run's list
    does in RRF; ranking that tied block at its averaged rank, about N / 2, would bring the gallery's size
    back. Weight 0 ranks as the model does, weight 1 as BM25 does (its unretrieved videos tied at 0). A video
    the model scored -inf (undecodable, `tcd.eval.score_gallery`) stays -inf at every weight.
    """
    return _weigh(_fusion_parts(sim_model, sim_lexical, k), weight)


def _fusion_parts(sim_model: np.ndarray, sim_lexical: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(model's reciprocal ranks, BM25's (0 where not retrieved), the model's finite entries): ranked once per grid."""
    sim_model, sim_lexical = np.asarray(sim_model, dtype=np.float64), np.asarray(sim_lexical, dtype=np.float64)
    if sim_model.shape != sim_lexical.shape:
        raise ValueError(f"model scores {sim_model.shape} and BM25 scores {sim_lexical.shape} differ in shape")
    lexical = np.where(sim_lexical > 0, reciprocal_ranks(sim_lexical, k), 0.0)
    return reciprocal_ranks(sim_model, k), lexical, np.isfinite(sim_model)


def _weigh(parts: tuple[np.ndarray, np.ndarray, np.ndarray], weight: float) -> np.ndarray:
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {weight}")
    model, lexical, finite = parts
    return np.where(finite, (1.0 - weight) * model + weight * lexical, -np.inf)


def fusion_curve(sim_model: np.ndarray, sim_lexical: np.ndarray, caption_video: Sequence[int],
                 grid: Sequence[float] = FUSION_GRID) -> pd.DataFrame:
    """T2V metrics of the fused scores (:func:`fuse`) at each weight of ``grid`` (one row per weight)."""
    parts = _fusion_parts(sim_model, sim_lexical, RRF_K)
    return pd.DataFrame([{"weight": float(w), **retrieval_metrics(_weigh(parts, float(w)), caption_video)["t2v"]}
                         for w in grid])


def choose_fusion_weight(sim_model_val: np.ndarray, sim_lexical_val: np.ndarray, caption_video_val: Sequence[int],
                         grid: Sequence[float] = FUSION_GRID) -> float:
    """The grid weight with the best T2V R@1 on a VALIDATION split (never the test split, whose numbers
    it would then flatter). Ties: the higher mean of T2V R@1 and R@5, then the smaller weight (less
    reliance on the string match)."""
    curve = fusion_curve(sim_model_val, sim_lexical_val, caption_video_val, grid)
    curve["r1_r5"] = (curve["R@1"] + curve["R@5"]) / 2
    best = curve.sort_values(["R@1", "r1_r5", "weight"], ascending=[False, False, True], kind="stable")
    return float(best["weight"].iloc[0])


def fuse_chosen_on_validation(val: tuple[np.ndarray, np.ndarray, Sequence[int]],
                              test: tuple[np.ndarray, np.ndarray, Sequence[int]]) -> tuple[float, np.ndarray, pd.DataFrame]:
    """One seed's fusion: ``val`` and ``test`` are each (model scores, BM25 scores, caption -> column).

    Returns the weight :func:`choose_fusion_weight` picks on ``val`` alone, ``test``'s matrix fused at it, and
    T2V along the grid on both splits (``split``: val | test; ``chosen``: the row of the chosen weight)."""
    weight = choose_fusion_weight(*val)
    curves = [fusion_curve(*scores).assign(split=split, chosen=lambda c: c.weight == weight)
              for split, scores in (("val", val), ("test", test))]
    return weight, fuse(test[0], test[1], weight), pd.concat(curves, ignore_index=True)


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
    save_scores(Path(params.paths.work) / "scores" / variant, 0, sim, caption_video, video_ids)
    return {**summarise_variant(params.paths.reports, variant, {0: sim}, caption_video, domains, 0), "skipped": [],
            "unreadable_tracks": unreadable}


# ---------------------------------------------------------------------------------------------
# The fusion stage's outputs

def fused_name(variant: str) -> str:
    return f"{variant}+{VARIANT}"


def evaluate_fusion(params, variant: str) -> dict:
    """Late-fuse ``variant``'s test scores with the string match, the weight chosen per seed on the validation split.

    For each seed of ``train.seeds``: its checkpoint and BM25 both score the validation gallery (training videos
    held out of training, :func:`tcd.data.split_entries`), :func:`fuse_chosen_on_validation` picks the weight there,
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
        _, sims[seed], curve = fuse_chosen_on_validation((model_val, lex_val, val_targets),
                                                         (model_test, lex_test, caption_video))
        curve.insert(len(curve.columns) - 2, "seed", seed)  # the table's columns: metrics, seed, split, chosen
        curves.append(curve)
        save_scores(work / "scores" / fused_name(variant), seed, sims[seed], caption_video, video_ids)
    undecodable = int((~np.isfinite(model_test)).all(axis=0).sum())  # the evaluate stage's -inf columns, as every seed has
    result = summarise_variant(params.paths.reports, fused_name(variant), sims, caption_video, domains, undecodable)
    curve = pd.concat(curves, ignore_index=True)
    (Path(params.paths.reports) / "tables" / "fusion").mkdir(parents=True, exist_ok=True)
    curve.to_csv(Path(params.paths.reports) / "tables" / "fusion" / f"{variant}.csv", index=False)
    return {**result, "curve": curve, "val_videos": len(val), "val_captions": len(val_targets)}
