"""Video files: probe, decode chosen frames, write deterministic mp4, and cache the N sampled frames of a corpus.

Frame indices are always *native* indices: the position of a frame in decode order, starting at 0.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import av
import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from tcd.corpus.textvr import videos_dir


class VideoError(ValueError):
    """A video file is missing, corrupt or does not hold the requested frames."""


@dataclass(frozen=True)
class VideoInfo:
    num_frames: int
    fps: float
    width: int
    height: int

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps if self.fps > 0 else 0.0


def probe(path: str | Path) -> VideoInfo:
    """Frame count, frame rate and size of the first video stream. Falls back to counting packets when the
    container does not record the frame count."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{path}: no video stream")
            stream = container.streams.video[0]
            num_frames = stream.frames or sum(1 for p in container.demux(stream) if p.size)
            fps = float(stream.average_rate or stream.guessed_rate or 0)
            info = VideoInfo(num_frames, fps, stream.codec_context.width, stream.codec_context.height)
    except (av.FFmpegError, OSError) as e:
        raise VideoError(f"{path}: unreadable video ({e})") from e
    if info.num_frames <= 0 or info.width <= 0 or info.height <= 0:
        raise VideoError(f"{path}: no frames ({info})")
    return info


def read_frames(path: str | Path, indices: Sequence[int]) -> np.ndarray:
    """Decode the frames at the given native indices (any order, repeats allowed): uint8 RGB [len, H, W, 3]."""
    wanted = sorted(set(int(i) for i in indices))
    if not wanted:
        raise ValueError("read_frames: no indices given")
    if wanted[0] < 0:
        raise ValueError(f"read_frames: negative frame index {wanted[0]}")
    wanted_set = set(wanted)
    got: dict[int, np.ndarray] = {}
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            for i, frame in enumerate(container.decode(stream)):
                if i in wanted_set:
                    got[i] = frame.to_ndarray(format="rgb24")
                if i >= wanted[-1]:
                    break
    except (av.FFmpegError, OSError, IndexError) as e:
        raise VideoError(f"{path}: decoding failed ({e})") from e
    missing = [i for i in wanted if i not in got]
    if missing:
        raise VideoError(f"{path}: frames {missing[:5]} not decodable (video has {len(got) and max(got) + 1} "
                         f"decodable frames up to the last wanted one)")
    return np.stack([got[int(i)] for i in indices])


def iter_frames(path: str | Path, indices: Sequence[int]):
    """Yield ``(index, frame)`` for the distinct ``indices`` in ascending order, in one decoding pass, holding one
    frame at a time (a long video's OCR frames never sit in memory together); same errors as `read_frames`."""
    wanted = sorted(set(int(i) for i in indices))
    if not wanted or wanted[0] < 0:
        raise ValueError(f"iter_frames: indices must be non-empty and >= 0, got {wanted[:3]}")
    position = 0
    try:
        with av.open(str(path)) as container:
            for i, frame in enumerate(container.decode(container.streams.video[0])):
                if i == wanted[position]:
                    yield i, frame.to_ndarray(format="rgb24")
                    position += 1
                    if position == len(wanted):
                        return
    except (av.FFmpegError, OSError, IndexError) as e:
        raise VideoError(f"{path}: decoding failed ({e})") from e
    raise VideoError(f"{path}: frames {wanted[position:position + 5]} not decodable (the video ends before them)")


def write_video(path: str | Path, frames: np.ndarray, fps: int) -> None:
    """Encode uint8 RGB frames [T, H, W, 3] (H, W even) to mp4. Same frames -> same bytes: one encoder thread,
    fixed options, no wall-clock metadata. libx264 (crf 18) when the PyAV build has it, else mpeg4.
    (Measured with PyAV 18.1 / x264 core 165: setting codec_context.thread_count, or leaving macroblock-tree
    rate control on, gave run-to-run byte differences; the 'threads' option with mbtree=0 did not.)"""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"write_video: expected uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
    t, h, w, _ = frames.shape
    if t == 0 or h % 2 or w % 2:
        raise ValueError(f"write_video: need >= 1 frame and even H, W (yuv420p), got {frames.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as container:
        if "libx264" in av.codecs_available:
            stream = container.add_stream("libx264", rate=fps)
            stream.options = {"crf": "18", "preset": "medium", "threads": "1", "x264-params": "mbtree=0"}
        else:
            stream = container.add_stream("mpeg4", rate=fps)
            stream.options = {"b": "4000000", "threads": "1"}
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for f in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        container.mux(stream.encode())


def segment_centers(num_frames: int, n: int) -> np.ndarray:
    """Native indices of the centres of n equal segments of [0, num_frames): floor((i + 0.5) * num_frames / n).
    Repeats indices when the video has fewer than n frames."""
    if num_frames <= 0 or n <= 0:
        raise ValueError(f"segment_centers: need num_frames > 0 and n > 0, got {num_frames}, {n}")
    return (np.arange(n, dtype=np.int64) * 2 + 1) * num_frames // (2 * n)


FRAMES_FILE, MASK_FILE, NATIVE_FILE, IDS_FILE = "frames.npy", "mask.npy", "num_frames_native.npy", "video_ids.json"


@dataclass(frozen=True, eq=False)   # eq on an array field would be ambiguous
class FrameRows:
    """Chosen rows of a cache's frames.npy, read from disk only when indexed (a batch at a time), so memory
    does not grow with the corpus. Holds no open file, so it pickles into DataLoader workers."""
    path: str
    offset: int                    # bytes of the .npy header
    row_shape: tuple[int, ...]     # [N, S, S, 3]
    rows: np.ndarray               # int64: this view's row i is the file's row rows[i]
    dtype = np.dtype(np.uint8)

    @classmethod
    def of(cls, frames: np.memmap, rows=None) -> "FrameRows":
        rows = np.arange(len(frames)) if rows is None else rows
        return cls(str(frames.filename), int(frames.offset), tuple(frames.shape[1:]), np.asarray(rows, dtype=np.int64))

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows), *self.row_shape)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index) -> np.ndarray:
        """uint8 [len, N, S, S, 3] for an array/list/slice of rows, [N, S, S, 3] for one row."""
        picked = self.rows[index]
        if np.ndim(picked) == 0:
            return self[[index]][0]
        out = np.empty((len(picked), *self.row_shape), dtype=np.uint8)
        size = out[0].nbytes if len(out) else 0
        with open(self.path, "rb", buffering=0) as f:
            for i, row in enumerate(picked.tolist()):
                f.seek(self.offset + row * size)
                if f.readinto(memoryview(out[i]).cast("B")) != size:
                    raise VideoError(f"{self.path}: row {row} truncated; the frame cache is damaged: re-run the "
                                     "corpus stage")
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self[:] if dtype is None else self[:].astype(dtype)


@dataclass(frozen=True)
class FrameCache:
    """The N sampled frames of every video of a split, in entry order (a folder written by `build_frame_cache`)."""
    frames: np.ndarray             # uint8 [V, N, S, S, 3], memory-mapped read-only: pages are read when touched
    video_ids: list[str]
    native_num_frames: np.ndarray  # int64 [V]; 0 for a skipped video
    mask: np.ndarray               # bool [V, N]; all False for a skipped (unreadable) video, whose frames are 0

    def index(self, video_id: str) -> int:
        return self.video_ids.index(video_id)

    def rows(self, rows=None) -> FrameRows:
        """These rows' frames as a view read from disk on demand."""
        return FrameRows.of(self.frames, rows)


def fit_frame(frame: np.ndarray, size: int, fit: str = "squash") -> np.ndarray:
    """uint8 [H, W, 3] -> [size, size, 3]: squash (plain resize) or crop (CLIP's preprocessing: bicubic resize of
    the short side to size, then the centre size x size)."""
    image = Image.fromarray(frame)
    if fit == "crop":
        w, h = image.size
        scale = size / min(w, h)
        w, h = max(size, round(w * scale)), max(size, round(h * scale))
        left, top = (w - size) // 2, (h - size) // 2
        return np.asarray(image.resize((w, h), Image.Resampling.BICUBIC).crop((left, top, left + size, top + size)))
    return np.asarray(image.resize((size, size), Image.Resampling.BICUBIC))


class FrameCacheWriter:
    """Writes a cache folder row by row into a sibling ``<name>.tmp`` folder, renamed into place by `close`.
    frames.npy is created at full size (sparse: unwritten rows read as 0) and rows go in with positioned writes,
    so neither this process nor a worker ever holds more than one row."""

    def __init__(self, out_dir: str | Path, video_ids: Sequence[str], num_frames: int, size: int):
        self.out_dir = Path(out_dir)
        self.tmp = self.out_dir.with_name(self.out_dir.name + ".tmp")
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir(parents=True)
        self.video_ids = [str(v) for v in video_ids]
        shape = (len(self.video_ids), num_frames, size, size, 3)
        frames = np.lib.format.open_memmap(self.tmp / FRAMES_FILE, mode="w+", dtype=np.uint8, shape=shape)
        self.frames_path, self.offset = str(self.tmp / FRAMES_FILE), int(frames.offset)
        del frames   # header and size are on disk; rows go in through `write_row`
        self.native = np.zeros(len(self.video_ids), dtype=np.int64)
        self.mask = np.zeros((len(self.video_ids), num_frames), dtype=bool)

    def write(self, row: int, frames: np.ndarray, native_num_frames: int) -> None:
        write_row(self.frames_path, self.offset, row, frames)
        self.mark(row, native_num_frames)

    def mark(self, row: int, native_num_frames: int) -> None:
        """Row ``row`` was written (by this process or a worker): decodable, with this native frame count."""
        self.native[row] = native_num_frames
        self.mask[row] = True

    def close(self) -> Path:
        np.save(self.tmp / MASK_FILE, self.mask, allow_pickle=False)
        np.save(self.tmp / NATIVE_FILE, self.native, allow_pickle=False)
        (self.tmp / IDS_FILE).write_text(json.dumps(self.video_ids))
        old = self.out_dir.with_name(self.out_dir.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.out_dir.exists():
            os.replace(self.out_dir, old)   # a folder cannot replace a non-empty folder in one rename
        os.replace(self.tmp, self.out_dir)
        shutil.rmtree(old, ignore_errors=True)
        return self.out_dir


def write_row(path: str, offset: int, row: int, frames: np.ndarray) -> None:
    """Write one uint8 row [N, S, S, 3] of a frames.npy in place."""
    data = np.ascontiguousarray(frames, dtype=np.uint8)
    with open(path, "r+b", buffering=0) as f:
        f.seek(offset + row * data.nbytes)
        f.write(memoryview(data).cast("B"))


VIDEO_FIX = "re-encode or download the video again, or remove its entry"   # said wherever a video is skipped


def _cache_row(job: tuple) -> tuple[int, int, str | None]:
    """Decode, fit and write one video's row (in this process or a worker): (row, native frames, error or None)."""
    row, video_path, frames_path, offset, num_frames, size, fit = job
    try:
        info = probe(video_path)
        raw = read_frames(video_path, segment_centers(info.num_frames, num_frames))
    except VideoError as e:
        return row, 0, f"{e}; {VIDEO_FIX}"
    except Exception as e:  # noqa: BLE001 -- anything else the decoder raises: skipped and named, not a traceback
        return row, 0, f"{video_path}: could not be decoded ({type(e).__name__}: {e}); {VIDEO_FIX}"
    write_row(frames_path, offset, row, np.stack([fit_frame(f, size, fit) for f in raw]))
    return row, info.num_frames, None


def build_frame_cache(root: str | Path, entries: Iterable, num_frames: int, size: int, out_path: str | Path,
                      progress: bool = False, fit: str = "squash", workers: int = 1) -> dict:
    """Decode the num_frames segment-centre frames of each entry's video (root/Videos/<entry.path>), fit them
    to size x size (`fit_frame`: squash or CLIP's crop) and write the cache folder ``out_path`` (frames.npy,
    mask.npy, num_frames_native.npy, video_ids.json; `FrameCacheWriter`). ``workers`` > 1 decodes in that many
    processes, each writing its rows in place: the same bytes as one process. Every entry keeps its row, so
    caption targets stay valid; an unreadable video gets zero frames, mask False, and is listed in the returned
    summary's 'skipped' with the reason.

    Under torchrun (a process group of several ranks, `tcd.distributed`) rank 0 creates the folder, each rank
    decodes its contiguous share of the entries (with its own ``workers``) into the same frames.npy, and rank 0
    writes the rest once every rank is done: the same bytes as one process. ``out_path`` must be on a filesystem
    every rank sees. Every rank returns the same summary, after the folder is in place."""
    from tcd.distributed import all_gather_objects, barrier, broadcast_object, rank_and_world, share

    entries = list(entries)
    if workers < 1:
        raise ValueError(f"workers={workers}: must be >= 1")
    start = time.perf_counter()
    rank, world = rank_and_world()
    writer = FrameCacheWriter(out_path, [e.video_id for e in entries], num_frames, size) if rank == 0 else None
    frames_path, offset = broadcast_object((writer.frames_path, writer.offset) if writer else None)
    jobs = [(row, str(videos_dir(root) / entries[row].path), frames_path, offset, num_frames, size, fit)
            for row in share(len(entries), rank, world)]
    bar = dict(total=len(jobs), desc="frame cache", unit="video", disable=not progress)
    if workers == 1:
        results = [_cache_row(job) for job in tqdm(jobs, **bar)]
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(tqdm(pool.map(_cache_row, jobs, chunksize=max(1, len(jobs) // (8 * workers))), **bar))
    results = [r for part in all_gather_objects(results) for r in part]   # every rank's rows are written
    skipped = []
    for row, native, error in results:
        if error is None:
            if writer is not None:
                writer.mark(row, native)
        else:
            skipped.append({"video_id": entries[row].video_id, "reason": error})
    if writer is not None:
        writer.close()
    barrier()   # the folder is in place before any rank goes on
    return {"out_path": str(Path(out_path)), "n_videos": len(entries), "n_ok": len(entries) - len(skipped),
            "skipped": skipped, "num_frames": num_frames, "size": size, "fit": fit, "workers": workers,
            "seconds": round(time.perf_counter() - start, 3)} | ({"ranks": world} if world > 1 else {})


def load_frame_cache(path: str | Path) -> FrameCache:
    """Open a cache folder written by build_frame_cache: frames memory-mapped (nothing read yet), the rest loaded."""
    path = Path(path)
    if not (path / FRAMES_FILE).is_file():
        raise FileNotFoundError(f"{path}: no frame cache ({FRAMES_FILE} missing): run the corpus stage")
    return FrameCache(frames=np.load(path / FRAMES_FILE, mmap_mode="r", allow_pickle=False),
                      video_ids=json.loads((path / IDS_FILE).read_text()),
                      native_num_frames=np.load(path / NATIVE_FILE, allow_pickle=False),
                      mask=np.load(path / MASK_FILE, allow_pickle=False))
