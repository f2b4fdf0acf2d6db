"""Video files: probe, decode chosen frames, write deterministic mp4, and cache the N sampled frames of a corpus.

Frame indices are always *native* indices: the position of a frame in decode order, starting at 0.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import av
import numpy as np
from PIL import Image


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


@dataclass(frozen=True)
class FrameCache:
    """The N sampled frames of every video of a split, in entry order."""
    frames: np.ndarray             # uint8 [V, N, S, S, 3]
    video_ids: list[str]
    native_num_frames: np.ndarray  # int64 [V]; 0 for a skipped video
    mask: np.ndarray               # bool [V, N]; all False for a skipped (unreadable) video, whose frames are 0

    def index(self, video_id: str) -> int:
        return self.video_ids.index(video_id)


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


def build_frame_cache(root: str | Path, entries: Iterable, num_frames: int, size: int, out_path: str | Path,
                      progress: bool = False, fit: str = "squash") -> dict:
    """Decode the num_frames segment-centre frames of each entry's video (root/Videos/<entry.path>), fit them
    to size x size (`fit_frame`: squash or CLIP's crop) and save an npz with frames, video_ids,
    num_frames_native and mask. Every entry keeps its row, so caption targets stay valid; an unreadable video
    gets zero frames, mask False, and is listed in the returned summary's 'skipped' with the reason."""
    entries = list(entries)
    start = time.perf_counter()
    frames = np.zeros((len(entries), num_frames, size, size, 3), dtype=np.uint8)
    native = np.zeros(len(entries), dtype=np.int64)
    mask = np.zeros((len(entries), num_frames), dtype=bool)
    skipped = []
    rows = enumerate(entries)
    if progress:
        from tqdm import tqdm
        rows = tqdm(rows, total=len(entries), desc="frame cache")
    for row, entry in rows:
        path = Path(root) / "Videos" / entry.path
        try:
            info = probe(path)
            raw = read_frames(path, segment_centers(info.num_frames, num_frames))
        except VideoError as e:
            skipped.append({"video_id": entry.video_id, "reason": str(e)})
            continue
        for i, f in enumerate(raw):
            frames[row, i] = fit_frame(f, size, fit)
        native[row] = info.num_frames
        mask[row] = True
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    with open(tmp, "wb") as f:  # a file object stops np.savez from appending ".npz"
        np.savez(f, frames=frames, video_ids=np.array([e.video_id for e in entries], dtype=str),
                 num_frames_native=native, mask=mask)
    os.replace(tmp, out_path)
    return {"out_path": str(out_path), "n_videos": len(entries), "n_ok": len(entries) - len(skipped),
            "skipped": skipped, "num_frames": num_frames, "size": size, "fit": fit,
            "seconds": round(time.perf_counter() - start, 3)}


def load_frame_cache(path: str | Path) -> FrameCache:
    """Load a cache written by build_frame_cache."""
    with np.load(path, allow_pickle=False) as z:
        return FrameCache(frames=z["frames"], video_ids=[str(v) for v in z["video_ids"]],
                          native_num_frames=z["num_frames_native"], mask=z["mask"])
