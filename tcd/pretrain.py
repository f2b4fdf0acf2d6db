"""Pretraining: what CLIP's 400M image-text pairs give the paper's models, for the tiny preset.

Every model the paper compares starts from CLIP, so its frames already mean something before it sees TextVR.
The tiny preset's vision tower has no such start. The pretrain stage trains it contrastively, CLIP-style,
with the text tower (frozen MiniLM) and both projections: a ``clip4clip`` model (mean of frame features against
the description) on procedurally generated clip-description pairs. The clips come from the generator's visual
world (tcd.corpus.synth.visual_clip: a domain's scene, groups of shapes with a colour, a count and a direction of
motion) drawn from ``pretrain.seed``, never from SynthTextVR's videos, and carry scene text that no description
mentions: the tower learns what captions describe and to look past text, never to read it.

Every variant of the study then starts its vision tower and its text projection from this checkpoint
(``model.vision_init: pretrained``, ``model.text_projection: pretrained``, as CLIP's models start from CLIP's);
the checkpoint itself, unchanged, is the zero-shot row. The visual oracle (:func:`visual_oracle_scores`) is the
ceiling for vision: each caption's visual phrases matched against the generator's own record of each video's
objects and scene (SYNTH_CARD.json).
"""
from __future__ import annotations

import dataclasses
import json
import re
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from tcd.config import CARD_NAME, HELDOUT_OFFSET, Params, TrainConfig, model_config, pretrain_checkpoint
from tcd.corpus.textvr import VideoEntry
from tcd.data import SplitData
from tcd.video import fit_frame, segment_centers

ZERO_SHOT, VISUAL_ORACLE = "zero_shot", "visual_oracle"   # their rows' names in the metrics and tables


# ---- the pairs -----------------------------------------------------------------------------------------------

def _render(job: tuple) -> tuple[np.ndarray, str, str]:
    """One pair: frames of a generated clip at the model's size and its description, its domain. A training pair
    (``whole`` false) keeps one of the frames the study samples, drawn at random (CLIP learns from images, and mean
    pooling cannot see motion either); a held-out clip keeps all of them. Seeded by its index alone, so the set is
    the same with any number of processes."""
    from tcd.corpus.synth import visual_clip

    index, seed, corpus, num_frames, size, fit, whole = job
    rng = np.random.default_rng([seed, index])
    sampled = segment_centers(int(round(corpus.seconds * corpus.fps)), num_frames)
    frames, description, domain = visual_clip(rng, corpus, sampled if whole else [sampled[rng.integers(num_frames)]])
    return np.stack([fit_frame(frame, size, fit) for frame in frames]), description, domain


def _generate(params: Params, indices: range, whole: bool, workers: int | None) -> SplitData:
    """Rendered clips ``indices`` of ``pretrain.seed``'s stream as a split (in memory, no OCR)."""
    f = params.frames
    jobs = [(i, params.pretrain.seed, params.corpus, f.num_frames, f.size, f.fit, whole) for i in indices]
    workers = f.workers if workers is None else workers
    if workers > 1:
        with get_context("spawn").Pool(workers) as pool:
            clips = pool.map(_render, jobs, chunksize=64)
    else:
        clips = [_render(job) for job in jobs]
    n, per_clip = len(clips), len(clips[0][0]) if clips else 1
    entries = [VideoEntry(f"pretrain/{i:06d}", f"pretrain/{i:06d}.mp4", c[2], "pretrain", "tcd.pretrain", "",
                          (c[1],), (k,), params.corpus.seconds) for k, (i, c) in enumerate(zip(indices, clips))]
    return SplitData(entries=entries, frames=np.stack([c[0] for c in clips]), frame_mask=np.ones((n, per_clip), bool),
                     windows=[[""] for _ in range(n)], window_mask=np.zeros((n, 1), bool), words=[[] for _ in range(n)],
                     geometry=[np.zeros((0, 12), np.float32) for _ in range(n)], captions=[c[1] for c in clips],
                     caption_video=np.arange(n))


def make_pairs(params: Params, n: int | None = None, workers: int | None = None) -> SplitData:
    """``pretrain.clips`` generated frame-description pairs as a training split (one frame per clip)."""
    return _generate(params, range(params.pretrain.clips if n is None else n), False, workers)


def heldout_clips(params: Params, n: int | None = None, workers: int | None = None) -> SplitData:
    """``pretrain.heldout_clips`` clips no pretraining pair comes from, with all ``frames.num_frames`` frames: the
    validation set the pretraining's knobs are chosen on (never SynthTextVR's test videos)."""
    n = params.pretrain.heldout_clips if n is None else n
    return _generate(params, range(HELDOUT_OFFSET, HELDOUT_OFFSET + n), True, workers)


# ---- the run -------------------------------------------------------------------------------------------------

def pretrain_config(params: Params):
    """The pretrained model: the study's tiny towers as ``clip4clip`` on one frame (no OCR), from scratch."""
    base = model_config(dataclasses.replace(params, model=dataclasses.replace(params.model, vision_init="scratch")))
    return dataclasses.replace(base, variant="clip4clip", num_frames=1, text_condition=None, hsc=None,
                               co_attention=None, ctcd=None)


def pretrain_train_config(params: Params) -> TrainConfig:
    """The training loop's settings for pretraining: the ``pretrain`` section's, the study's regularisation."""
    p, t = params.pretrain, params.train
    return TrainConfig(epochs=p.epochs, batch_size=p.batch_size, lr=p.lr, warmup_steps=p.warmup_steps,
                       weight_decay=t.weight_decay, grad_clip=t.grad_clip, threads=t.threads, precision=t.precision,
                       log_every=t.log_every)


def run_pretraining(params: Params, progress: bool = True) -> dict:
    """Generate the pairs, train, and write ``<work>/pretrain/`` (model.pt, history.csv, pretrain_summary.json).
    Returns the summary."""
    import time

    import torch

    from tcd.model import build_model
    from tcd.train import default_device, train_model

    out = pretrain_checkpoint(params).parent
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    pairs = make_pairs(params)
    generated = time.perf_counter() - start
    torch.manual_seed(params.pretrain.seed)
    model = build_model(pretrain_config(params)).to(default_device())
    history = train_model(model, pairs, pretrain_train_config(params), params.pretrain.seed, out, progress=progress)
    trained = time.perf_counter()
    summary = {"clips": len(pairs), "distinct_descriptions": len(set(pairs.captions)), "epochs": params.pretrain.epochs,
               "seconds_generating": round(generated, 1), "seconds_training": round(trained - start - generated, 1),
               "final_loss": round(float(history.loss.tail(10).mean()), 4),
               "heldout": heldout_metrics(params), "seconds_heldout": round(time.perf_counter() - trained, 1)}
    (out / "pretrain_summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def heldout_metrics(params: Params) -> dict:
    """The saved checkpoint's zero-shot retrieval on :func:`heldout_clips` (their descriptions against the clips,
    frames mean-pooled as in the study): {clips, t2v: {R@1, R@10, MdR}, v2t: {R@1}}."""
    from tcd.eval import retrieval_metrics, score_split
    from tcd.model import load_model
    from tcd.train import default_device

    clips = heldout_clips(params)
    model = load_model(pretrain_checkpoint(params), map_location=default_device(), num_frames=params.frames.num_frames)
    metrics = retrieval_metrics(score_split(model, clips, params.eval.query_chunk, params.eval.video_chunk).sim.numpy())
    return {"clips": len(clips), "t2v": {k: round(metrics["t2v"][k], 2) for k in ("R@1", "R@10", "MdR")},
            "v2t": {"R@1": round(metrics["v2t"]["R@1"], 2)}}


# ---- the visual oracle ---------------------------------------------------------------------------------------

def _phrase_pattern() -> re.Pattern:
    from tcd.corpus.synth import COLOURS, COUNT_WORDS, DIRECTION_WORDS, SHAPES

    alt = lambda words: "|".join(sorted(map(re.escape, words), key=len, reverse=True))
    return re.compile(rf"\b({alt(COUNT_WORDS.values())}) ({alt(COLOURS)}) ({alt(SHAPES)})s? moves? "
                      rf"({alt(DIRECTION_WORDS.values())})", re.IGNORECASE)


def caption_visuals(caption: str) -> tuple[list[dict], str | None]:
    """The visual phrases of a SynthTextVR caption (count, colour, shape, direction each) and its scene's domain."""
    from tcd.corpus.synth import COUNT_WORDS, DIRECTION_WORDS, SCENE_PHRASES

    counts = {w: c for c, w in COUNT_WORDS.items()}
    directions = {w: d for d, w in DIRECTION_WORDS.items()}
    phrases = [{"count": counts[m[1].lower()], "colour": m[2].lower(), "shape": m[3].lower(),
                "direction": directions[m[4].lower()]} for m in _phrase_pattern().finditer(caption)]
    low = caption.lower()
    domain = next((d for d, scenes in SCENE_PHRASES.items() if any(s in low for s in scenes)), None)
    return phrases, domain


ATTRIBUTES = ("count", "colour", "shape", "direction")   # what a SynthTextVR caption says of an object group


def _phrase_match(phrase: dict, objects: list[dict], attributes: tuple[str, ...] = ATTRIBUTES) -> int:
    """``attributes`` of the phrase that its best-matching object group has (0 to their number)."""
    return max((sum(o[k] == phrase[k] for k in attributes) for o in objects), default=0)


def visual_oracle_scores(captions: list[str], videos: list[dict], domains: list[str],
                         attributes: tuple[str, ...] = ATTRIBUTES) -> np.ndarray:
    """[captions, videos] scores of the oracle that sees the generator's record (``videos``: SYNTH_CARD entries with
    ``objects``): per caption, the matched ``attributes`` of its visual phrases plus 1 for the scene's domain. A
    caption with no visual phrase is left with its scene: vision alone cannot read the text it quotes."""
    sim = np.zeros((len(captions), len(videos)), np.float32)
    for i, caption in enumerate(captions):
        phrases, domain = caption_visuals(caption)
        for j, (video, video_domain) in enumerate(zip(videos, domains)):
            sim[i, j] = sum(_phrase_match(p, video["objects"], attributes) for p in phrases) + (domain == video_domain)
    return sim


# The oracle seeing one more attribute per rung; colour first, as it covers the most pixels of an object
ORACLE_LADDER = {"scene": (), "scene + colour": ("colour",), "scene + colour + count": ("colour", "count"),
                 "scene + colour + count + shape": ("colour", "count", "shape"),
                 "scene + all four (the visual oracle)": ATTRIBUTES}


def card_videos(corpus: str | Path, split: str, video_ids: list[str]) -> list[dict]:
    """SYNTH_CARD.json's record of each of ``video_ids`` (a clear error for a corpus that has none)."""
    path = Path(corpus) / CARD_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the visual oracle needs SynthTextVR's card (a real corpus has no record of "
                                "what its videos show)")
    records = {v["video_id"]: v for v in json.loads(path.read_text())["videos"][split]}
    missing = [v for v in video_ids if "objects" not in records.get(v, {})]
    if missing:
        raise ValueError(f"{path}: no object record for {missing[0]} ({len(missing)} videos): regenerate the corpus "
                         "with this version (make data)")
    return [records[v] for v in video_ids]


# ---- the rows beside the main comparison --------------------------------------------------------------------

def evaluate_reference_rows(params: Params) -> dict[str, dict]:
    """The zero-shot row (the pretrained checkpoint on the test gallery, no fine-tuning) and the visual oracle
    (SynthTextVR only), each written as a variant's evaluation (metrics, per-domain table, scores under
    ``<work>/scores/<row>/``, the pretraining's seed as its one seed). Returns each row's summary."""
    from tcd.data import load_split_data
    from tcd.eval import save_scores, score_gallery, summarise_variant
    from tcd.model import load_model
    from tcd.train import default_device

    test = load_split_data(params, "test")
    gallery = test.gallery or test.entries
    video_ids, domains = [e.video_id for e in gallery], [e.domain for e in gallery]
    model = load_model(pretrain_checkpoint(params), map_location=default_device(), num_frames=params.frames.num_frames)
    out, caption_video = score_gallery(model, test, params.eval.query_chunk, params.eval.video_chunk)
    rows = {ZERO_SHOT: (out.sim.numpy(), {k: v.numpy() for k, v in out.parts.items()})}
    try:
        records = card_videos(params.paths.corpus, "test", video_ids)
        rows[VISUAL_ORACLE] = (visual_oracle_scores(test.gallery_captions()[0], records, domains), {})
    except FileNotFoundError:
        pass   # a real corpus: no record of what its videos show, no oracle row
    seed, results = params.pretrain.seed, {}
    for name, (sim, parts) in rows.items():
        save_scores(Path(params.paths.work) / "scores" / name, seed, sim, caption_video, video_ids, parts)
        results[name] = summarise_variant(params.paths.reports, name, {seed: sim}, caption_video, domains,
                                          len(test.skipped))
    return results
