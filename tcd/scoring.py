"""All-pairs scoring at scale: N queries x M videos when scores depend on the (query, video) pair."""
from __future__ import annotations

import os

import torch
from torch import Tensor

from tcd.model.family import RetrievalModel, ScoreOutput, VideoState


# On the CPU a block of more pairs is slower, not faster: its temporaries (hundreds of MB) leave the caches and are
# freshly mapped by every op. 4,096 pairs (16 queries x 256 videos) keeps TCD's batched head fastest here; fewer
# queries per video block make its per-video matmuls too small.
CPU_BLOCK_PAIRS = 4096


def free_memory_bytes(device: torch.device) -> int:
    """Free memory on ``device``: CUDA's free bytes, else the host's available RAM."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def auto_chunks(model: RetrievalModel, n_q: int, videos: VideoState, free_bytes: int) -> tuple[int, int, int]:
    """(query_chunk, video_chunk, max_pair_floats) that use about a quarter of ``free_bytes``: half for the
    video block, half for each block's per-pair floats (the scores and parts, plus the model's intermediates)."""
    budget = free_bytes // 4
    row_bytes = sum(t[:1].numel() * t.element_size() for t in videos.tensors.values()) + 4 * model.head_floats
    video_chunk = max(1, min(len(videos), budget // 2 // max(1, row_bytes)))
    max_pair_floats = max(1, budget // 2 // 4)
    per_pair = max(model.pair_floats, 8)   # sim + parts on the device, and their temporaries
    query_chunk = max(1, min(n_q, max_pair_floats // (video_chunk * per_pair)))
    return query_chunk, video_chunk, max_pair_floats


@torch.no_grad()
def score_all_pairs(model: RetrievalModel, queries: Tensor, videos: VideoState, query_chunk: int = 256,
                    video_chunk: int = 256, max_pair_floats: int = 2 ** 27, precision: str = "fp32") -> ScoreOutput:
    """Scores of every query against every video, chunk by chunk, on the model's device.

    queries [Q, D] from `model.encode_queries`, videos from `model.encode_videos` (everything
    query-independent is already in it, computed once). Each (query chunk, video chunk) block runs
    `model.score`; for query-dependent variants the query chunk shrinks so that a block holds at most about
    `max_pair_floats` floats of per-pair intermediates (default 2^27 floats = 512 MiB; on the CPU at most
    `CPU_BLOCK_PAIRS` pairs). A chunk of 0 is
    chosen from the device's free memory (`auto_chunks`). ``precision="bf16"`` scores under bf16 autocast on
    CUDA (fp32 elsewhere). The results stay on the device until the end; returns CPU fp32 tensors.
    """
    device = model.device
    n_q, n_v = len(queries), len(videos)
    if query_chunk <= 0 or video_chunk <= 0:
        auto_q, auto_v, max_pair_floats = auto_chunks(model, n_q, videos, free_memory_bytes(device))
        query_chunk, video_chunk = query_chunk or auto_q, video_chunk or auto_v
        if device.type == "cpu" and model.pair_floats:   # blocks of at least 16 queries per video: larger matmuls
            video_chunk = min(video_chunk, CPU_BLOCK_PAIRS // 16)
    bf16 = precision == "bf16" and device.type == "cuda"
    sim = torch.empty(n_q, n_v, device=device)
    parts: dict[str, Tensor] = {}
    queries = queries.to(device)
    for v0 in range(0, n_v, video_chunk):
        block = model.prepare_scoring(videos.index(slice(v0, v0 + video_chunk)).to(device))   # once per video
        n_block = len(block)
        step = query_chunk
        if model.pair_floats:
            step = max(1, min(query_chunk, max_pair_floats // (n_block * model.pair_floats)))
            if device.type == "cpu":
                step = max(1, min(step, CPU_BLOCK_PAIRS // n_block))
        for q0 in range(0, n_q, step):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                out = model.score(queries[q0:q0 + step], block)
            sim[q0:q0 + step, v0:v0 + n_block] = out.sim.float()
            for name, part in out.parts.items():
                parts.setdefault(name, torch.empty(n_q, n_v, device=device))[q0:q0 + step, v0:v0 + n_block] = part.float()
    return ScoreOutput(sim.cpu(), {name: part.cpu() for name, part in parts.items()})
