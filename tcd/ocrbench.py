"""`tcd bench ocr`: EasyOCR's word recall and frames per second against ``ocr.max_side`` on high-resolution video.

SynthTextVR rendered at 1280x720 (`render_corpus`; its font sizes are proportional to the frame height, so the text
covers the same share of the frame as in the 224x160 study corpus; ``text_scale`` < 1 makes it smaller, nearer real
scene text) is read by `tcd.ocr.ocr_corpus` once per ``max_side``, with the study's own sampling and track linking,
and scored against the corpus's ground-truth tracks (`tcd.ocr.ocr_quality_table`). The rate is the median over the
videos after the first ``warmup`` (EasyOCR's first calls are slow) of each video's wall seconds per OCR frame, which
include decoding and linking, as in the ocr stage.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Sequence


def render_corpus(root: str | Path, videos: int = 8, seconds: float = 2.0, width: int = 1280, height: int = 720,
                  text_scale: float = 1.0, seed: int = 0) -> Path:
    """A SynthTextVR corpus of ``videos`` test videos (and 2 training videos, unused) at width x height: videos,
    annotations and ground-truth tracks in the TextVR layout under ``root``."""
    from tcd.config import SynthConfig
    from tcd.corpus.synth import generate

    cfg = SynthConfig(seed=seed, n_train_videos=2, n_test_videos=videos, captions_per_train_video=1, seconds=seconds,
                      width=width, height=height, text_scale=text_scale)
    generate(cfg, root, progress=False)
    return Path(root)


def ocr_curve(corpus: str | Path, max_sides: Sequence[int], videos: int | None = None, ocr_fps: float = 1.0,
              warmup: int = 1, device: str | None = None, batch_size: int = 1) -> list[dict]:
    """One row per ``max_side`` (0: the full frame) over the first ``videos`` test videos of ``corpus``: the size the
    detector saw, word recall/precision and CER against the ground-truth tracks, and the median seconds per frame
    after ``warmup`` videos (frames_per_s = its inverse). One EasyOCR model serves every row."""
    import torch

    from tcd.complexity import _device_name
    from tcd.corpus.textvr import load_split, videos_dir
    from tcd.ocr import EasyOcrReader, _quality_summary, detector_size, ocr_corpus, ocr_quality_table
    from tcd.video import probe

    entries = load_split(corpus, "test")[:videos]
    if len(entries) <= warmup:
        raise ValueError(f"{len(entries)} test videos in {corpus}: need more than warmup={warmup}")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    reader = EasyOcrReader(gpu=device.type == "cuda", batch_size=batch_size)
    info = probe(videos_dir(corpus) / entries[0].path)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for max_side in max_sides:
            reader.max_side = reader.options["max_side"] = max_side
            out = Path(tmp) / f"side{max_side}"
            runs = ocr_corpus(corpus, entries, out, ocr_fps, reader, progress=False)
            timed = runs.iloc[warmup:]
            timed = timed[timed.n_frames_read > 0]
            per_frame = statistics.median((timed.seconds / timed.n_frames_read).tolist())
            quality = _quality_summary(ocr_quality_table(corpus, entries, out))
            h, w = detector_size((info.height, info.width), max_side) or (info.height, info.width)
            rows.append(dict(stage="ocr", device=_device_name(device), width=info.width, height=info.height,
                             max_side=max_side, detector=f"{w}x{h}", videos=len(entries),
                             frames=int(runs.n_frames_read.sum()), ocr_fps=ocr_fps, batch_size=batch_size,
                             warmup=warmup, seconds_per_frame=float(f"{per_frame:.4g}"),
                             frames_per_s=round(1 / per_frame, 3),
                             word_recall=round(float(quality.word_recall), 4),
                             word_precision=round(float(quality.word_precision), 4),
                             cer=round(float(quality.cer), 4)))
    return rows


def ocr_bench(max_sides: Sequence[int], corpus: str | Path | None = None, videos: int = 8, seconds: float = 2.0,
              width: int = 1280, height: int = 720, text_scale: float = 1.0, ocr_fps: float = 1.0, warmup: int = 1,
              device: str | None = None, batch_size: int = 1) -> list[dict]:
    """`ocr_curve` on ``corpus``, or on a SynthTextVR corpus rendered for the purpose (`render_corpus`: width x
    height, text_scale) when none is given; the rendered rows say their text_scale."""
    if corpus is not None:
        return ocr_curve(corpus, max_sides, videos, ocr_fps, warmup, device, batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        root = render_corpus(Path(tmp) / "corpus", videos, seconds, width, height, text_scale)
        rows = ocr_curve(root, max_sides, videos, ocr_fps, warmup, device, batch_size)
    return [dict(row, corpus=f"SynthTextVR {width}x{height}", text_scale=text_scale) for row in rows]
