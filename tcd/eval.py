"""Retrieval metrics with TextVR's protocol.

Rows of a similarity matrix are captions, columns are videos. The rank of the true video is its
0-based position after sorting the row by descending similarity, with **ties averaged**: if the
true video ties with others, its rank is the mean of the tied positions (so a constant score
matrix cannot look good). R@K is the percentage of ranks < K, MdR = median rank + 1,
MnR = mean rank + 1. Video->text ranks every caption for a video and keeps the best (smallest)
rank over that video's own captions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

RECALL_AT = (1, 5, 10)
METRIC_KEYS = ("R@1", "R@5", "R@10", "MdR", "MnR")


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
    """R@1/5/10 (percent), MdR and MnR (1-based) from 0-based ranks."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.size == 0:
        raise ValueError("no ranks to summarise")
    out = {f"R@{k}": float(100.0 * np.mean(ranks < k)) for k in RECALL_AT}
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


def score_split(model, data, query_chunk: int = 256, video_chunk: int = 256, encode_batch: int = 64):
    """All-pairs scores of a split: every caption against every video (``ScoreOutput`` on the CPU).

    Videos are encoded once, query-independently, in batches of ``encode_batch``; the pairwise
    part runs in ``query_chunk`` x ``video_chunk`` blocks (``tcd.scoring.score_all_pairs``).
    """
    import torch

    from tcd.model import VideoState
    from tcd.scoring import score_all_pairs
    from tcd.train import to_model_batch

    model.eval()
    with torch.no_grad():
        queries = model.encode_queries(data.captions)
        states = [
            model.encode_videos(to_model_batch(model, data.batch(np.arange(start, min(start + encode_batch, len(data))), word_slots=data.max_words)))
            for start in range(0, len(data), encode_batch)
        ]
        return score_all_pairs(model, queries, VideoState.cat(states), query_chunk, video_chunk)
