"""Training on several processes (`torchrun`; gloo on CPU, NCCL on GPUs): rank, batch shards, gathers with gradients.

Every rank draws the same global batches (same seed), reads its contiguous slice of each (`shard`), and the model
gathers every rank's query and video tensors back into the global batch (`gather_batch`) before scoring, so each
rank computes the one-process loss over all B x B pairs: every rank's negatives count. The gather's backward sums
the ranks' gradients into each rank's own rows and DDP averages the parameter gradients; together they give the
one-process gradient (to float summation order).

Preprocessing shards by video instead (`share`): under torchrun each rank decodes (`tcd.video.build_frame_cache`) or
OCRs (`tcd.ocr.ocr_corpus`) its contiguous slice of the corpus, writing into the same output folder (one shared
filesystem for all nodes), and rank 0 finalises what depends on every video. Outside a process group every helper
here is the one-process identity.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist


def rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_from_env() -> bool:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, MASTER_ADDR/PORT, LOCAL_RANK) when WORLD_SIZE > 1:
    NCCL on the LOCAL_RANK-th GPU, gloo on CPU. Returns whether it did (then call `dist.destroy_process_group`)."""
    import os

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return False
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return True


def share(n: int, rank: int, world: int) -> range:
    """This rank's contiguous slice of n items (videos of a corpus): `np.array_split`'s, the first ranks take one
    more. In rank order the slices are 0..n-1 again."""
    sizes = [len(part) for part in np.array_split(np.arange(n), world)]
    start = sum(sizes[:rank])
    return range(start, start + sizes[rank])


def all_gather_objects(obj) -> list:
    """Every rank's picklable ``obj``, in rank order, on every rank ([obj] in one process). Also a barrier: no rank
    returns before every rank has called it."""
    _, world = rank_and_world()
    if world == 1:
        return [obj]
    out = [None] * world
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj):
    """Rank 0's picklable ``obj`` on every rank (``obj`` itself in one process)."""
    if rank_and_world()[1] == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier() -> None:
    if rank_and_world()[1] > 1:
        dist.barrier()


def shard(rows: np.ndarray, queries: list[str], rank: int, world: int) -> tuple[np.ndarray, list[str]]:
    """This rank's contiguous slice of a global batch (`share`: the first ranks take one row more)."""
    part = share(len(rows), rank, world)
    return rows[part.start:part.stop], list(queries[part.start:part.stop])


def gather_rows(x: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    """Every rank's rows of ``x`` in rank order (rank r holds sizes[r]), gradients flowing back to each rank's own
    rows; padded to the largest shard for the collective, then trimmed."""
    most = max(sizes)
    padded = torch.cat([x, x.new_zeros((most - len(x), *x.shape[1:]))]) if len(x) < most else x.contiguous()
    if x.requires_grad:
        from torch.distributed.nn.functional import all_gather

        parts = all_gather(padded)
    else:
        wire = padded.to(torch.uint8) if padded.dtype == torch.bool else padded   # gloo has no bool collectives
        parts = [torch.empty_like(wire) for _ in sizes]
        dist.all_gather(parts, wire)
        parts = [p.to(x.dtype) for p in parts]
    return torch.cat([p[:n] for p, n in zip(parts, sizes)])


def gather_batch(queries: torch.Tensor, videos: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The global batch's query embeddings and video tensors (all with rows on dim 0); as given in one process."""
    _, world = rank_and_world()
    if world == 1:
        return queries, videos
    size = torch.tensor([len(queries)], device=queries.device)
    sizes = [torch.zeros_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    sizes = [int(s) for s in sizes]
    return gather_rows(queries, sizes), {k: gather_rows(v, sizes) for k, v in videos.items()}
