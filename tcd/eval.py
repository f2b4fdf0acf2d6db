"""Retrieval metrics with TextVR's protocol, and the evaluation stage's metrics file.

Rows of a similarity matrix are captions, columns are videos. The rank of the true video is its
0-based position after sorting the row by descending similarity, with **ties averaged**: if the
true video ties with others, its rank is the mean of the tied positions (so a constant score
matrix cannot look good). MdR = median rank + 1, MnR = mean rank + 1. Video->text ranks every
caption for a video and keeps the best (smallest) rank over that video's own captions.
R@1 counts ranks == 0 but R@5/R@10 count ranks < 5 / < 10: that is TextVR's own code
(callsys/TextVR ``model/metric.py``, ``cols2metrics``), so a true video tied at the top (rank 0.5)
misses R@1 yet hits R@5.

The gallery is always the whole split (:func:`score_gallery`): a video that could not be decoded
keeps its column, scored -inf, so the 2,727-way protocol never shrinks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

RECALL_AT = (1, 5, 10)
METRIC_KEYS = ("R@1", "R@5", "R@10", "MdR", "MnR")
DIRECTIONS = ("t2v", "v2t")


def _as_caption_video(sim: np.ndarray, caption_video: Sequence[int] | None) -> np.ndarray:
    n_captions, n_videos = sim.shape
    if caption_video is None:
        if n_captions != n_videos:
            raise ValueError(
                f"sim is {n_captions}x{n_videos}: pass caption_video when it is not square "
                "(the diagonal default needs one caption per video)"
            )
        return np.arange(n_captions)
    caption_video = np.asarray(caption_video, dtype=np.int64)
    if caption_video.shape != (n_captions,):
        raise ValueError(f"caption_video has shape {caption_video.shape}, expected ({n_captions},)")
    if caption_video.min(initial=0) < 0 or caption_video.max(initial=0) >= n_videos:
        raise ValueError(f"caption_video holds video indices outside [0, {n_videos})")
    return caption_video


def tie_averaged_ranks(scores: np.ndarray, target_scores: np.ndarray) -> np.ndarray:
    """0-based rank of each row's target among that row's scores, ties averaged.

    scores: [R, C]; target_scores: [R] (the score of the true item in each row).
    """
    target = target_scores[:, None]
    higher = (scores > target).sum(axis=1)
    tied = (scores == target).sum(axis=1)  # includes the target itself
    return higher + (tied - 1) / 2.0


def metrics_from_ranks(ranks: np.ndarray) -> dict[str, float]:
    """R@1/5/10 (percent), MdR and MnR (1-based) from 0-based ranks, as TextVR's ``cols2metrics``:
    R@1 needs rank == 0 exactly (a tie at the top is a miss), R@K>1 needs rank < K."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.size == 0:
        raise ValueError("no ranks to summarise")
    out = {f"R@{k}": float(100.0 * np.mean(ranks == 0 if k == 1 else ranks < k)) for k in RECALL_AT}
    out["MdR"] = float(np.median(ranks) + 1.0)
    out["MnR"] = float(np.mean(ranks) + 1.0)
    return out


def text_to_video_ranks(sim: np.ndarray, caption_video: Sequence[int] | None = None) -> np.ndarray:
    """Rank of the true video for every caption (row)."""
    sim = np.asarray(sim, dtype=np.float64)
    targets = _as_caption_video(sim, caption_video)
    return tie_averaged_ranks(sim, sim[np.arange(len(targets)), targets])


def video_to_text_ranks(sim: np.ndarray, caption_video: Sequence[int] | None = None) -> np.ndarray:
    """Best rank over each video's own captions, for every video that has a caption."""
    sim = np.asarray(sim, dtype=np.float64)
    targets = _as_caption_video(sim, caption_video)
    columns = sim.T  # [videos, captions]
    caption_ranks = tie_averaged_ranks(columns[targets], sim[np.arange(len(targets)), targets])
    best = pd.Series(caption_ranks).groupby(targets).min()
    return best.to_numpy()


def retrieval_metrics(sim: np.ndarray, caption_video: Sequence[int] | None = None) -> dict[str, dict[str, float]]:
    """Text->video and video->text R@1, R@5, R@10, MdR, MnR for a captions x videos matrix.

    ``caption_video[i]`` is the video (column) of caption ``i``; the default is the diagonal
    (one caption per video in the same order, like ``TextVR_test.json``).
    """
    return {
        "t2v": metrics_from_ranks(text_to_video_ranks(sim, caption_video)),
        "v2t": metrics_from_ranks(video_to_text_ranks(sim, caption_video)),
    }


def per_group_metrics(
    sim: np.ndarray, caption_video: Sequence[int] | None, video_group: Sequence[str]
) -> pd.DataFrame:
    """Text->video metrics per group of videos (e.g. domain), against the *whole* gallery.

    Each caption is ranked among all videos, as in the overall protocol; captions are grouped by
    their true video's group. One row per group, with the number of captions.
    """
    sim = np.asarray(sim, dtype=np.float64)
    targets = _as_caption_video(sim, caption_video)
    ranks = text_to_video_ranks(sim, targets)
    groups = np.asarray(video_group)[targets]
    rows = []
    for group in sorted(set(groups.tolist())):
        rows.append({"group": group, "n_captions": int((groups == group).sum()), **metrics_from_ranks(ranks[groups == group])})
    return pd.DataFrame(rows)


def score_split(model, data, query_chunk: int = 256, video_chunk: int = 256, encode_batch: int = 64,
                captions: list[str] | None = None):
    """All-pairs scores of a split: every caption (default ``data.captions``, or ``captions``) against every
    video of ``data`` (``ScoreOutput`` on the CPU).

    Videos are encoded once, query-independently, in batches of ``encode_batch``; the pairwise
    part runs in ``query_chunk`` x ``video_chunk`` blocks (``tcd.scoring.score_all_pairs``).
    """
    import torch

    from tcd.model import VideoState
    from tcd.scoring import score_all_pairs
    from tcd.train import to_model_batch

    model.eval()
    with torch.no_grad():
        queries = model.encode_queries(data.captions if captions is None else captions)
        states = [
            model.encode_videos(to_model_batch(model, data.batch(np.arange(start, min(start + encode_batch, len(data))), word_slots=data.max_words)))
            for start in range(0, len(data), encode_batch)
        ]
        return score_all_pairs(model, queries, VideoState.cat(states), query_chunk, video_chunk)


def score_gallery(model, data, query_chunk: int = 256, video_chunk: int = 256):
    """The evaluation matrix: every caption of the split x every video of the split, in annotation order.

    A video missing from the model's view (undecodable, ``data.skipped``) keeps its column, scored -inf in
    ``sim`` and every part: below every real score, so it never outranks a decodable video; its own captions
    (still encoded: they are text) rank it last, ties averaged with the other undecodable videos, and in
    video->text its constant column ranks its caption at chance, (captions - 1) / 2. -inf rather than an
    OCR-only score: the captions stage has no windows for a video it cannot probe (no frame count to cut
    them by), and a floor can only cost a model, never flatter it. (TextVR's own loader substitutes a random
    other video instead.) Returns ``(ScoreOutput, caption_video)``: ``caption_video`` maps captions to columns.
    """
    import torch

    from tcd.model.family import ScoreOutput

    captions, caption_video = data.gallery_captions()
    scored = torch.from_numpy(data.gallery_rows >= 0)
    out = score_split(model, data, query_chunk, video_chunk, captions=captions)

    def widen(scores):
        full = torch.full((len(captions), len(scored)), float("-inf"))
        full[:, scored] = scores
        return full

    return ScoreOutput(widen(out.sim), {name: widen(part) for name, part in out.parts.items()}), caption_video


def seed_sd(values: Sequence[float]) -> float | None:
    """Sample standard deviation (ddof = 1) over seeds; None (JSON null) for one seed, where it is undefined."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else None


def metrics_document(per_seed: Mapping[int, dict], n_captions: int, n_videos: int, undecodable_videos: int) -> dict:
    """The evaluation stage's metrics file for one variant, from each seed's :func:`retrieval_metrics`.

    Headline first, as ``dvc metrics show`` lists it: ``t2v``/``v2t`` means over seeds; then ``std``, the sample
    sd over seeds (``std_ddof`` = 1; null with one seed), ``seeds``, the gallery (captions, videos, how many
    videos could not be decoded and were scored -inf), and ``per_seed`` detail keyed by the seed as text.
    """
    runs = list(per_seed.values())
    if not runs:
        raise ValueError("no seeds to summarise")

    def over_seeds(stat):
        return {d: {k: stat([m[d][k] for m in runs]) for k in METRIC_KEYS} for d in DIRECTIONS}

    return {**over_seeds(lambda values: float(np.mean(values))), "std": over_seeds(seed_sd), "std_ddof": 1,
            "seeds": [int(s) for s in per_seed], "n_captions": n_captions, "n_videos": n_videos,
            "undecodable_videos": undecodable_videos,
            "per_seed": {str(s): {d: dict(m[d]) for d in DIRECTIONS} for s, m in per_seed.items()}}


def headline(doc: dict) -> dict:
    """What ``dvc metrics show`` lists for a variant: both directions' means, R@1's sample sd, the number of seeds
    and of undecodable test videos. The same keys for every variant, so the metrics table stays one row per
    variant and a screen wide; everything else is in the evaluation detail file."""
    return {**{d: doc[d] for d in DIRECTIONS},
            **{f"{d}_R@1_sd": doc["std"][d]["R@1"] for d in DIRECTIONS},
            "seeds": len(doc["seeds"]), "undecodable_videos": doc["undecodable_videos"]}


def write_metrics(reports: str | Path, variant: str, doc: dict) -> None:
    """A variant's evaluation: the whole :func:`metrics_document` (sd of every metric, each seed's numbers) to
    ``<reports>/tables/evaluation/<variant>.json`` and its :func:`headline` to ``<reports>/metrics/<variant>.json``."""
    reports = Path(reports)
    for folder, content in (("tables/evaluation", doc), ("metrics", headline(doc))):
        (reports / folder).mkdir(parents=True, exist_ok=True)
        (reports / folder / f"{variant}.json").write_text(json.dumps(content, indent=1))


def read_evaluation(reports: str | Path, variant: str) -> dict:
    """The document :func:`write_metrics` wrote for ``variant`` (what tcd.claims and the report read)."""
    return json.loads((Path(reports) / "tables" / "evaluation" / f"{variant}.json").read_text())


def save_scores(scores_dir: str | Path, seed: int, sim: np.ndarray, caption_video: np.ndarray, video_ids: Sequence[str],
                parts: Mapping[str, np.ndarray] | None = None) -> None:
    """A seed's test scores, as the evaluate, lexical and fusion stages leave them: ``seed<k>.npz`` (``sim``,
    ``caption_video``, ``video_ids``, ``scored``: the columns with a finite score, and ``part_<name>`` for each
    of ``parts``) and the bare float32 captions x videos matrix ``sim_seed<k>.npy`` a leaderboard export reads
    (-inf: an undecodable video)."""
    scores_dir = Path(scores_dir)
    scores_dir.mkdir(parents=True, exist_ok=True)
    sim = np.asarray(sim).astype(np.float32)
    np.save(scores_dir / f"sim_seed{seed}.npy", sim)
    np.savez_compressed(scores_dir / f"seed{seed}.npz", sim=sim, caption_video=caption_video,
                        video_ids=np.array(video_ids), scored=np.isfinite(sim).any(axis=0),
                        **{f"part_{k}": np.asarray(v) for k, v in (parts or {}).items()})


def evaluate_variant(params, variant: str) -> dict:
    """Score every seed's checkpoint of ``variant`` on the whole test gallery and write the evaluate stage's outputs.

    Reads ``<work>/models/<variant>/seed<k>/model.pt`` for each of ``train.seeds``; writes ``<work>/scores/<variant>/``
    ``seed<k>.npz`` and ``sim_seed<k>.npy``, the metrics (:func:`write_metrics`) and
    ``<reports>/tables/per_domain/<variant>.csv`` (T2V per domain against the whole gallery, mean over seeds).
    Returns what the notebook shows: ``metrics`` (the document); tables ``summary`` (mean and sd per direction),
    ``per_seed`` and ``per_domain``; ``skipped`` (video id, reason) for the videos scored -inf.
    """
    from tcd.data import load_split_data
    from tcd.model import load_model
    from tcd.train import default_device

    test = load_split_data(params, "test")
    work = Path(params.paths.work)
    video_ids = [e.video_id for e in test.gallery or test.entries]
    sims = {}
    for seed in params.train.seeds:
        model = load_model(work / "models" / variant / f"seed{seed}" / "model.pt", map_location=default_device())
        out, caption_video = score_gallery(model, test, params.eval.query_chunk, params.eval.video_chunk)
        save_scores(work / "scores" / variant, seed, out.sim.numpy(), caption_video, video_ids,
                    {k: v.numpy() for k, v in out.parts.items()})
        sims[seed] = out.sim.numpy()
    domains = [e.domain for e in test.gallery or test.entries]
    return {**summarise_variant(params.paths.reports, variant, sims, caption_video, domains, len(test.skipped)),
            "skipped": list(test.skipped)}


def summarise_variant(reports: str | Path, variant: str, sims: Mapping[int, np.ndarray], caption_video: np.ndarray,
                      domains: Sequence[str], undecodable: int) -> dict:
    """Each seed's test matrix -> the variant's metrics (:func:`write_metrics`) and
    ``<reports>/tables/per_domain/<variant>.csv`` (T2V per domain against the whole gallery, mean over seeds).
    Returns what a notebook shows: ``metrics`` (the document); tables ``summary`` (mean and sd per direction),
    ``per_seed`` and ``per_domain``."""
    reports = Path(reports)
    per_seed = {seed: retrieval_metrics(sim, caption_video) for seed, sim in sims.items()}
    doc = metrics_document(per_seed, len(caption_video), len(domains), undecodable)
    write_metrics(reports, variant, doc)
    tables = [per_group_metrics(sim, caption_video, domains).assign(seed=seed) for seed, sim in sims.items()]
    per_domain = pd.concat(tables).groupby("group", sort=True)[["n_captions", *METRIC_KEYS]].mean().reset_index()
    (reports / "tables" / "per_domain").mkdir(parents=True, exist_ok=True)
    per_domain.to_csv(reports / "tables" / "per_domain" / f"{variant}.csv", index=False)
    summary = pd.DataFrame({**{d: doc[d] for d in DIRECTIONS}, **{f"{d}_sd": doc["std"][d] for d in DIRECTIONS}}).astype(float)
    per_seed_table = pd.DataFrame({(seed, d): m[d] for seed, m in per_seed.items() for d in DIRECTIONS})
    return {"metrics": doc, "summary": summary, "per_seed": per_seed_table, "per_domain": per_domain}
