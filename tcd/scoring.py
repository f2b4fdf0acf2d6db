"""All-pairs scoring at scale: N queries x M videos when scores depend on the (query, video) pair."""
from __future__ import annotations

import torch
from torch import Tensor

from tcd.model.family import RetrievalModel, ScoreOutput, VideoState


@torch.no_grad()
def score_all_pairs(model: RetrievalModel, queries: Tensor, videos: VideoState, query_chunk: int = 256,
                    video_chunk: int = 256, max_pair_floats: int = 2 ** 27) -> ScoreOutput:
    """Scores of every query against every video, chunk by chunk, on the model's device.

    queries [Q, D] from `model.encode_queries`, videos from `model.encode_videos` (everything
    query-independent is already in it, computed once). Each (query chunk, video chunk) block runs
    `model.score`; for query-dependent variants the query chunk shrinks so that a block holds at most about
    `max_pair_floats` floats of per-pair intermediates (default 2^27 floats = 512 MiB). Returns CPU tensors.
    """
    n_q, n_v = len(queries), len(videos)
    sim = torch.empty(n_q, n_v)
    parts: dict[str, Tensor] = {}
    for v0 in range(0, n_v, video_chunk):
        block = videos.index(slice(v0, v0 + video_chunk)).to(model.device)
        n_block = len(block)
        step = query_chunk
        if model.pair_floats:
            step = max(1, min(query_chunk, max_pair_floats // (n_block * model.pair_floats)))
        for q0 in range(0, n_q, step):
            out = model.score(queries[q0:q0 + step].to(model.device), block)
            sim[q0:q0 + step, v0:v0 + n_block] = out.sim.float().cpu()
            for name, part in out.parts.items():
                parts.setdefault(name, torch.empty(n_q, n_v))[q0:q0 + step, v0:v0 + n_block] = part.float().cpu()
    return ScoreOutput(sim, parts)
