"""Window-OCR captioner (TCD) and StarVR-style per-word OCR tokens (the baseline it replaces).

TCD cuts the video into N non-overlapping windows of length Δ = num_frames / N, one centred on
each of the N sampled frames, optionally shrunk to ξΔ about its centre, and merges all scene
text inside a window into one OCR caption: N captions instead of up to 200 word instances.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from tcd.corpus.textvr import OcrTrack
from tcd.ocr import has_latin

GEOMETRY_FIELDS = ("x1", "y1", "x2", "y2", "cx", "cy", "w", "h", "t_start", "t_end", "t_centre", "t_span")


def window_bounds(num_frames: int, n_windows: int, xi: float) -> np.ndarray:
    """Float [n, 2] native-frame windows [start, end).

    Window i is centred on the exact segment centre (i + 0.5)Δ, Δ = num_frames / n, and has
    length ξΔ. At ξ = 1 the windows tile [0, num_frames) exactly, and whenever Δ >= 2 the i-th
    sampled frame (tcd.video.segment_centers = floor of that centre) lies inside window i.
    """
    if not 0 < xi <= 1:
        raise ValueError(f"xi must be in (0, 1], got {xi}")
    delta = num_frames / n_windows
    centres = (np.arange(n_windows) + 0.5) * delta
    return np.stack([centres - xi * delta / 2, centres + xi * delta / 2], axis=1)


def _window_frames(start: float, end: float, num_frames: int) -> tuple[int, int]:
    """Inclusive integer frame range [lo, hi] of a window.

    Frames f with start <= f < end; a window too short to contain an integer frame (small ξ or
    num_frames < n) falls back to the frame(s) nearest its centre (both, at an exact .5 tie).
    """
    lo, hi = int(np.ceil(start)), int(np.ceil(end)) - 1
    if lo > hi:
        centre = (start + end) / 2
        lo, hi = int(np.ceil(centre - 0.5)), int(np.floor(centre + 0.5))
    return max(lo, 0), min(hi, num_frames - 1)


def _bounds(quad: Sequence[float]) -> tuple[float, float, float, float]:
    xs, ys = quad[0::2], quad[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def _reading_order(items: list[tuple[str, tuple[float, float, float, float]]]) -> list[str]:
    """Texts ordered top-to-bottom by rows, then left-to-right.

    Boxes are taken in order of vertical centre; a box joins the current row when its vertical
    centre is within half a box height (the larger of the two) of the row's first box.
    """
    items = sorted(items, key=lambda it: ((it[1][1] + it[1][3]) / 2, it[1][0], it[0]))
    rows: list[list[tuple[str, tuple[float, float, float, float]]]] = []
    for text, box in items:
        if rows:
            anchor = rows[-1][0][1]
            dy = abs((box[1] + box[3]) / 2 - (anchor[1] + anchor[3]) / 2)
            if dy <= 0.5 * max(box[3] - box[1], anchor[3] - anchor[1]):
                rows[-1].append((text, box))
                continue
        rows.append([(text, box)])
    return [text for row in rows for text, _ in sorted(row, key=lambda it: (it[1][0], it[0]))]


def window_captions(
    tracks: Sequence[OcrTrack], num_frames: int, n_windows: int, xi: float, max_words: int
) -> tuple[list[str], np.ndarray]:
    """One OCR caption per window and a bool mask [n] of non-empty windows.

    A track is in window i if one of its frame indices lies in the window (see `_window_frames`
    for windows without an integer frame). The caption joins the texts of those tracks with
    spaces in reading order, judged by each track's box at its frame nearest the window centre;
    texts are deduplicated case- and space-insensitively (first in reading order kept) and the
    caption is cut to ``max_words`` words. An empty window gets "" and mask False.
    """
    keyed = [(t.text.strip(), np.array(sorted(t.boxes)), t) for t in tracks if t.text.strip()]
    captions, mask = [], np.zeros(n_windows, dtype=bool)
    for i, (start, end) in enumerate(window_bounds(num_frames, n_windows, xi)):
        lo, hi = _window_frames(start, end, num_frames)
        centre = (start + end) / 2
        items = []
        for text, frames, track in keyed:
            inside = frames[(frames >= lo) & (frames <= hi)]
            if len(inside):
                nearest = int(inside[np.argmin(np.abs(inside - centre))])
                items.append((text, _bounds(track.boxes[nearest])))
        seen, texts = set(), []
        for text in _reading_order(items):
            key = " ".join(text.lower().split())
            if key not in seen:
                seen.add(key)
                texts.append(text)
        words = " ".join(texts).split()[:max_words]
        captions.append(" ".join(words))
        mask[i] = bool(words)
    return captions, mask


def _instance_words(tracks: Sequence[OcrTrack], max_words: int) -> list[tuple[str, OcrTrack]]:
    """StarVR's word list: (word, source track), best OCR score first.

    Track texts are split on whitespace; words are lower-cased; words shorter than 3 characters,
    words with non-ASCII characters (StarVR drops any character above 'z' as "Chinese") and
    words without a Latin letter or digit are dropped; duplicates keep their highest-scoring
    occurrence; the top ``max_words`` by score are returned (stable for equal scores).
    """
    best: dict[str, tuple[float, OcrTrack]] = {}
    for track in tracks:
        for word in track.text.split():
            word = word.lower()
            if len(word) < 3 or not word.isascii() or not has_latin(word):
                continue
            if word not in best or float(track.score) > best[word][0]:
                best[word] = (float(track.score), track)
    ranked = sorted(best.items(), key=lambda kv: -kv[1][0])
    return [(word, track) for word, (_, track) in ranked[:max_words]]


def instance_tokens(
    tracks: Sequence[OcrTrack], num_frames: int, width: int, height: int, max_words: int = 200
) -> tuple[list[str], np.ndarray]:
    """StarVR-style OCR tokens: words (see `_instance_words`) and geometry float32 [k, 12].

    Geometry of a word, from its track, all in [0, 1] (layout GEOMETRY_FIELDS):
    x1, y1, x2, y2 = axis-aligned box at the track's middle frame (its frame nearest the middle
    of its span) divided by width/height; cx, cy, w, h = centre and size of that box;
    t_start = first_frame / num_frames, t_end = (last_frame + 1) / num_frames (frame f covers
    [f, f + 1)), t_centre = their mean, t_span = t_end - t_start.
    """
    words = _instance_words(tracks, max_words)
    geometry = np.zeros((len(words), len(GEOMETRY_FIELDS)), dtype=np.float32)
    for row, (_, track) in enumerate(words):
        frames = np.array(sorted(track.boxes))
        middle = int(frames[np.argmin(np.abs(frames - (frames[0] + frames[-1]) / 2))])
        x1, y1, x2, y2 = _bounds(track.boxes[middle])
        x1, x2 = np.clip([x1 / width, x2 / width], 0, 1)
        y1, y2 = np.clip([y1 / height, y2 / height], 0, 1)
        t0, t1 = np.clip([frames[0] / num_frames, (frames[-1] + 1) / num_frames], 0, 1)
        geometry[row] = [x1, y1, x2, y2, (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1,
                         t0, t1, (t0 + t1) / 2, t1 - t0]
    return [word for word, _ in words], geometry


def token_reduction(
    tracks: Sequence[OcrTrack], num_frames: int, n_windows: int, xi: float = 1.0, max_words: int = 200
) -> tuple[int, int, int]:
    """(n_instances, n_words, n_windows_nonempty) for one video: tracks, StarVR word tokens (top
    ``max_words``), and non-empty OCR windows -- the "N instances -> 1 per window" reduction."""
    _, mask = window_captions(tracks, num_frames, n_windows, xi, max_words=10**9)
    return len(tracks), len(_instance_words(tracks, max_words)), int(mask.sum())
