"""`tcd bench data`: frames per second decoded into the frame cache and served by the training DataLoader.

Decoding runs `tcd.video.build_frame_cache` on the corpus's first videos (the same code as the corpus stage);
serving reads a synthetic cache of random frames (the rate does not depend on the pixels) through
`tcd.train.batch_loader` and moves each batch to the device as the training step does, without the model.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from tcd.corpus.textvr import VideoEntry
from tcd.data import SplitData
from tcd.video import FrameCacheWriter, load_frame_cache


def write_synthetic_cache(out_dir: str | Path, videos: int, num_frames: int, size: int, seed: int = 0) -> Path:
    """A frame cache of ``videos`` rows of random uint8 frames (video ids ``synth/v00000`` ...), one row in
    memory at a time."""
    rng = np.random.default_rng(seed)
    writer = FrameCacheWriter(out_dir, [f"synth/v{i:05d}" for i in range(videos)], num_frames, size)
    for row in range(videos):
        writer.write(row, rng.integers(0, 256, (num_frames, size, size, 3), dtype=np.uint8), num_frames)
    return writer.close()


def synthetic_split(cache_dir: str | Path) -> SplitData:
    """The split view over a cache from `write_synthetic_cache`: one caption per video, no OCR text."""
    cache = load_frame_cache(cache_dir)
    v, n = cache.mask.shape
    entries = [VideoEntry(i, f"{i}.mp4", "synth", "train", "synth", f"{i}.json", (f"caption of {i}",), (0,), 0.0)
               for i in cache.video_ids]
    return SplitData(entries=entries, frames=cache.rows(), frame_mask=cache.mask, windows=[[""] * n] * v,
                     window_mask=np.zeros((v, n), dtype=bool), words=[[] for _ in range(v)],
                     geometry=[np.zeros((0, 12), dtype=np.float32)] * v,
                     captions=[e.captions[0] for e in entries], caption_video=np.arange(v, dtype=np.int64))


def _median_after_warmup(fn, repeats: int, warmup: int) -> float:
    seconds = []
    for i in range(warmup + repeats):
        start = time.perf_counter()
        fn()
        if i >= warmup:
            seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def decode_rows(corpus: str | Path, videos: int, num_frames: int, size: int, fit: str, workers: list[int],
                repeats: int, warmup: int) -> list[dict]:
    """Cached frames per second of `build_frame_cache` over the first ``videos`` test videos of ``corpus``,
    once per worker count (a fresh cache folder each repeat; the OS file cache is warm after the warm-up)."""
    from tcd.corpus.textvr import load_split
    from tcd.video import build_frame_cache

    entries = load_split(corpus, "test")[:videos]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for w in workers:
            build = lambda: build_frame_cache(corpus, entries, num_frames, size, Path(tmp) / "cache", fit=fit, workers=w)
            seconds = _median_after_warmup(build, repeats, warmup)
            rows.append(dict(stage="decode", device="cpu", workers=w, videos=len(entries), num_frames=num_frames,
                             size=size, repeats=repeats, warmup=warmup, seconds=float(f"{seconds:.4g}"),
                             frames_per_s=round(len(entries) * num_frames / seconds, 1)))
    return rows


def serve_rows(videos: int, num_frames: int, size: int, batch_size: int, workers: list[int], device: str,
               repeats: int, warmup: int) -> list[dict]:
    """Frames per second the DataLoader hands to a training step on ``device`` (one epoch of `epoch_batches`
    per repeat, each batch's tensors moved to the device and synchronised), once per loader worker count."""
    import torch

    from tcd.complexity import _device_name
    from tcd.train import batch_loader, epoch_batches

    device = torch.device(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = synthetic_split(write_synthetic_cache(Path(tmp) / "cache", videos, num_frames, size))
        batches = epoch_batches(data, batch_size, np.random.default_rng(0))
        for w in workers:
            loader = batch_loader(data, w, pin_memory=device.type == "cuda")
            loader.sampler.batches = batches

            def epoch():
                for batch in loader:
                    batch["frames"].to(device, non_blocking=True)
                sync()

            seconds = _median_after_warmup(epoch, repeats, warmup)   # the warm-up starts the persistent workers
            frames = sum(len(r) for r, _ in batches) * num_frames
            rows.append(dict(stage="serve", device=_device_name(device), workers=w, videos=videos,
                             num_frames=num_frames, size=size, batch_size=batch_size, pin_memory=device.type == "cuda",
                             repeats=repeats, warmup=warmup, seconds=float(f"{seconds:.4g}"),
                             frames_per_s=round(frames / seconds, 1)))
            del loader   # stops its workers
    return rows
