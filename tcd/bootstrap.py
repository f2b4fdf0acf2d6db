"""Paired bootstrap over the test captions: the interval each verdict of :mod:`tcd.claims` reads.

A model's answer to one unit of the test set is its R@1 hit: for text->video a caption (its true video at rank 0,
ranks tie-averaged as :mod:`tcd.eval` computes them, TextVR's protocol, so a tie at the top is a miss), for
video->text a video with captions (its best-ranked own caption at rank 0). Per unit, the hit is averaged over the
seeds. The difference of two models is resampled over the units with replacement, the same resample for both
sides (they answered the same captions), ``N_RESAMPLES`` times from the fixed ``SEED``; the interval is the
2.5th-97.5th percentile of the resampled mean differences, in R@1 points.

Inputs: the test scores of every evaluated variant, ``<work>/scores/<variant>/seed<k>.npz`` (:func:`variant_hits`),
and the ranks an ablation row saves (:func:`save_ranks`, one ``ranks.npz`` per row and seed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tcd.eval import text_to_video_ranks, video_to_text_ranks

N_RESAMPLES = 10_000   # an endpoint's sd over bootstrap seeds: ~0.2 R@1 points at 96 captions, ~0.1 at 300
SEED = 0               # fixed: a report re-run gives the same intervals
LEVEL = 0.95
_CHUNK = 1 << 22       # resampled indices held at once (32 MiB of int64), so 2,727 captions stay in memory


@dataclasses.dataclass(frozen=True)
class Hits:
    """R@1 hits of one model on one test gallery, one row per seed: ``t2v`` [seeds, captions], ``v2t`` [seeds,
    videos with a caption]. ``captions`` (each caption's video id) and ``videos`` (the v2t units' video ids) are
    the units' keys: two models are paired only on the same keys in the same order. ``fingerprint``: a digest of
    the window captions the run trained and was tested on (ablation rows; "" where not recorded)."""

    t2v: np.ndarray
    v2t: np.ndarray
    captions: np.ndarray
    videos: np.ndarray
    fingerprint: str = ""

    def of(self, direction: str) -> np.ndarray:
        return {"t2v": self.t2v, "v2t": self.v2t}[direction]

    def r1(self, direction: str) -> np.ndarray:
        """R@1 (%) of each seed."""
        return 100.0 * self.of(direction).mean(axis=1)


@dataclasses.dataclass(frozen=True)
class Interval:
    """Mean difference A - B of R@1 points and its bootstrap percentile interval."""

    difference: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def ranks(sim: np.ndarray, caption_video: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(text->video rank of each caption, video->text rank of each video with a caption), 0-based, ties averaged:
    :func:`tcd.eval.text_to_video_ranks` / :func:`tcd.eval.video_to_text_ranks`."""
    return text_to_video_ranks(sim, caption_video), video_to_text_ranks(sim, caption_video)


def _units(caption_video: np.ndarray, video_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # video_to_text_ranks orders its videos by column index (a groupby over caption_video)
    return video_ids[caption_video], video_ids[np.unique(caption_video)]


def _stack(runs: list[dict], fingerprint: str, where: str) -> Hits:
    first = runs[0]
    for run in runs[1:]:
        if not (np.array_equal(run["captions"], first["captions"]) and np.array_equal(run["videos"], first["videos"])):
            raise ValueError(f"{where}: the seeds were scored on different test galleries; re-run that stage")
    return Hits(np.stack([r["t2v"] == 0 for r in runs]), np.stack([r["v2t"] == 0 for r in runs]),
                first["captions"], first["videos"], fingerprint)


def variant_hits(work: str | Path, variant: str, seeds: Sequence[int]) -> Hits:
    """Hits of a variant from the test scores its stage saved, ``<work>/scores/<variant>/seed<k>.npz`` (sim,
    caption_video, video_ids; :mod:`tcd.eval`), for each of ``seeds`` (the seeds its metrics file lists)."""
    scores_dir = Path(work) / "scores" / variant
    runs = []
    for seed in seeds:
        path = Path(scores_dir) / f"seed{seed}.npz"
        if not path.is_file():
            raise FileNotFoundError(f"{path} missing: the verdicts need every seed's test scores; re-run the stage "
                                    f"that writes {variant}'s scores (dvc repro)")
        with np.load(path, allow_pickle=False) as saved:
            caption_video, video_ids = saved["caption_video"], saved["video_ids"]
            t2v, v2t = ranks(saved["sim"].astype(np.float64), caption_video)
        captions, videos = _units(caption_video, video_ids)
        runs.append({"t2v": t2v, "v2t": v2t, "captions": captions, "videos": videos})
    if not runs:
        raise ValueError(f"{scores_dir}: no seeds given")
    return _stack(runs, "", str(scores_dir))


def save_ranks(path: str | Path, sim: np.ndarray, caption_video: np.ndarray, video_ids: Sequence[str],
               fingerprint: str = "") -> None:
    """One run's per-unit ranks (:func:`ranks`) with their keys and the captions' ``fingerprint``: what an ablation
    row keeps so that its verdicts can be bootstrapped without its score matrix."""
    t2v, v2t = ranks(np.asarray(sim, dtype=np.float64), np.asarray(caption_video))
    captions, videos = _units(np.asarray(caption_video), np.asarray(video_ids))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, t2v_ranks=t2v, v2t_ranks=v2t, captions=captions, videos=videos,
                        fingerprint=np.array(fingerprint))


def saved_hits(paths: Sequence[str | Path]) -> Hits:
    """Hits of one run per seed from :func:`save_ranks` files; the seeds must agree on the captions' fingerprint."""
    runs, prints = [], set()
    for path in paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path} missing: ablation rows save their ranks since issue 17; re-run the "
                                    "ablation stage (dvc repro ablation@<grid>)")
        with np.load(path, allow_pickle=False) as saved:
            runs.append({"t2v": saved["t2v_ranks"], "v2t": saved["v2t_ranks"], "captions": saved["captions"],
                         "videos": saved["videos"]})
            prints.add(str(saved["fingerprint"]))
    if not runs:
        raise ValueError("no ranks files given")
    if len(prints) > 1:
        raise ValueError(f"{Path(paths[0]).parent.parent}: seeds trained on different captions; re-run that stage")
    return _stack(runs, prints.pop(), str(Path(paths[0]).parent.parent))


def paired_bootstrap(a: Hits, b: Hits, direction: str, n_resamples: int = N_RESAMPLES, seed: int = SEED,
                     level: float = LEVEL) -> Interval:
    """R@1(a) - R@1(b) in ``direction`` (points; means over seeds) and its paired percentile interval: units
    resampled with replacement, the same draw for both sides."""
    if not (np.array_equal(a.captions, b.captions) and np.array_equal(a.videos, b.videos)):
        raise ValueError("the two sides were scored on different test galleries: a paired comparison needs the same "
                         "captions in the same order")
    per_unit = 100.0 * (a.of(direction).mean(axis=0) - b.of(direction).mean(axis=0))
    return bootstrap_mean(per_unit, n_resamples, seed, level)


def bootstrap_mean(values: np.ndarray, n_resamples: int = N_RESAMPLES, seed: int = SEED,
                   level: float = LEVEL) -> Interval:
    """Mean of ``values`` (one per unit) and the percentile interval of its resampled means."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0:
        raise ValueError("no units to resample")
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK // n)
    means = np.concatenate([values[rng.integers(0, n, size=(min(rows, n_resamples - start), n))].mean(axis=1)
                            for start in range(0, n_resamples, rows)])
    low, high = np.percentile(means, [50.0 * (1 - level), 50.0 * (1 + level)])
    return Interval(float(values.mean()), float(low), float(high))
