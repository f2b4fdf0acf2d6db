"""Window-OCR captioner (TCD) and StarVR-style per-word OCR tokens (the baseline it replaces).

TCD cuts the video into N non-overlapping windows of length Δ = num_frames / N, one centred on
each of the N sampled frames, optionally shrunk to ξΔ about its centre, and merges all scene
text inside a window into one OCR caption: N captions instead of up to 200 word instances.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

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


def _reading_order(boxes: list[tuple[float, float, float, float]], texts: list[str]) -> list[int]:
    """Indices of the boxes ordered top-to-bottom by rows, then left-to-right.

    Boxes are taken in order of vertical centre; a box joins the current row when its vertical
    centre is within half a box height (the larger of the two) of the row's first box.
    """
    order = sorted(range(len(boxes)), key=lambda i: ((boxes[i][1] + boxes[i][3]) / 2, boxes[i][0], texts[i]))
    rows: list[list[int]] = []
    for i in order:
        if rows:
            anchor, box = boxes[rows[-1][0]], boxes[i]
            dy = abs((box[1] + box[3]) / 2 - (anchor[1] + anchor[3]) / 2)
            if dy <= 0.5 * max(box[3] - box[1], anchor[3] - anchor[1]):
                rows[-1].append(i)
                continue
        rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda i: (boxes[i][0], texts[i]))]


def keys_past_end(tracks: Sequence[OcrTrack], num_frames: int) -> int:
    """Box frame keys of ``tracks`` at or past the clip's end (key / num_frames >= 1).

    TextVR's loader places a Kwai key at key / (the clip's frame count); a key past 1 names a
    moment the clip does not show (a track file from a longer cut, or a frame count that
    disagrees with the decoder). `window_captions` gives such keys no window; count them per
    video with this function so they are reported, not lost.
    """
    return sum(1 for t in tracks for k in t.boxes if k >= num_frames)


def _track_span(track: OcrTrack, num_frames: int) -> tuple[int, int] | None:
    """The track's [first, last] key clipped to the clip, or None when it starts past the end."""
    if track.first_frame >= num_frames:
        return None
    return track.first_frame, min(track.last_frame, num_frames - 1)


def _cap_words(texts: list[str], priority: list[tuple], max_words: int) -> list[str]:
    """Texts kept under the word cap, each the whole text, a leading part of it, or "".

    Texts are admitted in order of ``priority`` (ascending sort keys) while their words fit; the
    first one that does not fit gets the words left, and none after it is admitted, so no text
    is displaced by a less important one.
    """
    kept = [""] * len(texts)
    budget = max_words
    for i in sorted(range(len(texts)), key=lambda i: priority[i]):
        words = texts[i].split()
        kept[i] = " ".join(words[:budget])
        budget -= min(budget, len(words))
        if len(words) > len(kept[i].split()) or budget == 0:
            break
    return kept


def window_captions(
    tracks: Sequence[OcrTrack], num_frames: int, n_windows: int, xi: float, max_words: int
) -> tuple[list[str], np.ndarray]:
    """One OCR caption per window and a bool mask [n] of non-empty windows.

    Time: a track key k sits at k / num_frames of the clip (TextVR's normalisation of Kwai keys
    by the clip's frame count), window i covers (i + 0.5 ± ξ/2) / n of it, so captions do not
    depend on the fps the clip was decoded at. A track is in window i when its span [first key,
    last key] overlaps the window's frames (`_window_frames`): a text seen at keys 3 and 12 is on
    screen in between too. Keys past the clip's end are clipped off (count them: `keys_past_end`).

    Cap: texts (deduplicated case- and space-insensitively, the more important copy kept) are
    admitted to the ``max_words`` budget in order of importance -- frames on screen in the clip
    x OCR score, i.e. how long and how surely the text is there; ties go to reading order -- so
    a long-lived subtitle at the bottom outranks a sign glimpsed for two frames (`_cap_words`).
    The survivors are joined in reading order, judged by each track's box at its key nearest the
    window centre. An empty window gets "" and mask False.
    """
    spans = [(t.text.strip(), _track_span(t, num_frames), np.array(sorted(t.boxes)), t) for t in tracks]
    spans = [s for s in spans if s[0] and s[1] is not None]
    captions, mask = [], np.zeros(n_windows, dtype=bool)
    for i, (start, end) in enumerate(window_bounds(num_frames, n_windows, xi)):
        lo, hi = _window_frames(start, end, num_frames)
        centre = (start + end) / 2
        texts, boxes, weights = [], [], []
        for text, (first, last), keys, track in spans:
            if first <= hi and last >= lo:
                texts.append(text)
                boxes.append(_bounds(track.boxes[int(keys[np.argmin(np.abs(keys - centre))])]))
                weights.append((last - first + 1) * float(track.score))
        order = _reading_order(boxes, texts)
        place = {j: pos for pos, j in enumerate(order)}
        priority = [(-weights[j], place[j]) for j in range(len(texts))]
        best: dict[str, int] = {}
        for j in sorted(range(len(texts)), key=lambda j: priority[j]):
            best.setdefault(" ".join(texts[j].lower().split()), j)
        unique = sorted(best.values(), key=lambda j: place[j])
        kept = _cap_words([texts[j] for j in unique], [priority[j] for j in unique], max_words)
        caption = " ".join(text for text in kept if text)
        captions.append(caption)
        mask[i] = bool(caption)
    return captions, mask


def xi_sensitivity(
    videos: Sequence[tuple[Sequence[OcrTrack], int]], xis: Sequence[float], n_windows: int, max_words: int
) -> pd.DataFrame:
    """What the window scale ξ does to the captions of ``videos`` ((tracks, num_frames) pairs).

    One row per ξ: words_per_caption (mean over all windows, an empty one counting 0),
    nonempty_fraction (windows with a caption) and changed_fraction (windows whose caption differs
    from the same window's at ξ = 1.0). ξ can only matter through a track that touches a full
    window but not its shrunken middle, so a changed_fraction of 0 means ξ is a no-op on this data.
    """
    reference = [window_captions(tracks, n, n_windows, 1.0, max_words)[0] for tracks, n in videos]
    rows = []
    for xi in xis:
        captions = [window_captions(tracks, n, n_windows, xi, max_words)[0] for tracks, n in videos]
        flat = [c for video in captions for c in video]
        changed = [c != r for video, ref in zip(captions, reference) for c, r in zip(video, ref)]
        rows.append(dict(xi=xi, words_per_caption=float(np.mean([len(c.split()) for c in flat])) if flat else 0.0,
                         nonempty_fraction=float(np.mean([bool(c) for c in flat])) if flat else 0.0,
                         changed_fraction=float(np.mean(changed)) if changed else 0.0))
    return pd.DataFrame(rows, columns=["xi", "words_per_caption", "nonempty_fraction", "changed_fraction"])


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
