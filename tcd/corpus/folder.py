"""`tcd data import VIDEOS_DIR CAPTIONS OUT_ROOT`: a folder of your own videos as a TextVR-layout corpus.

CAPTIONS is a CSV with a header (columns ``video,caption`` and optionally ``split``) or a JSONL file (one
``{"video": ..., "caption": ..., "split": ...}`` per line). ``video`` is the file's path relative to VIDEOS_DIR
(e.g. ``trip/clip1.mp4``); a video may have several rows (several captions); ``split`` is ``train`` or ``test``
(default ``test``). Every video ends up under OUT_ROOT/Videos/<domain>/ (a symlink, or a copy with copy=True)
and captioned ones in TextVR_<split>.json; videos without captions are placed too (listed in the summary) so
they can be captioned and indexed later. There is no Kwai_VideoOCR: the study reads the text itself
(``ocr.source: easyocr``).
"""
from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path, PurePosixPath

from tcd.corpus.textvr import VideoEntry, write_annotations

SPLITS = ("train", "test")


class FolderImportError(ValueError):
    """The captions file, the videos or the output root do not fit together (every problem listed)."""


def read_captions(path: str | Path) -> list[dict]:
    """Rows {video, caption, split, line} of a CSV (header) or JSONL captions file; bad rows are errors."""
    path = Path(path)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = _read_jsonl(path)
    elif path.suffix.lower() == ".csv":
        rows = _read_csv(path)
    else:
        raise FolderImportError(f"{path}: captions must be .csv (header video,caption[,split]) or .jsonl")
    for r in rows:  # "./a.mp4" and "a.mp4" name one video
        if isinstance(r["video"], str) and r["video"].strip():
            r["video"] = PurePosixPath(r["video"].strip()).as_posix()
    problems = [f"{path} line {r['line']}: {p}" for r in rows for p in _row_problems(r)]
    if problems:
        raise FolderImportError("\n".join(problems))
    return rows


def _read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as f:  # -sig: spreadsheets write a byte-order mark
        reader = csv.DictReader(f)
        missing = {"video", "caption"} - set(reader.fieldnames or ())
        if missing:
            raise FolderImportError(f"{path}: no column {', '.join(sorted(missing))}; the header must be "
                               "video,caption[,split]")
        return [dict(video=r["video"], caption=r["caption"], split=r.get("split") or "test", line=i)
                for i, r in enumerate(reader, start=2)]


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            raise FolderImportError(f"{path} line {i}: not JSON ({e})") from e
        if not isinstance(r, dict):
            raise FolderImportError(f"{path} line {i}: expected an object with video and caption")
        rows.append(dict(video=r.get("video"), caption=r.get("caption"), split=r.get("split") or "test", line=i))
    return rows


def _row_problems(row: dict) -> list[str]:
    out = []
    if not isinstance(row["video"], str) or not row["video"].strip():
        out.append("no video")
    elif row["video"].startswith("/") or ".." in PurePosixPath(row["video"]).parts:
        out.append(f"{row['video']}: give the path relative to VIDEOS_DIR")
    elif not row["video"].endswith(".mp4"):
        out.append(f"{row['video']}: only .mp4 (lower case) is read; rename or convert it (ffmpeg -i in.mov out.mp4)")
    if not isinstance(row["caption"], str) or not row["caption"].strip():
        out.append("empty caption")
    if row["split"] not in SPLITS:
        out.append(f"split {row['split']!r}; use train or test")
    return out


def place_video(src: Path, dst: Path, copy: bool) -> None:
    """dst becomes a copy of src, or an absolute symlink to it (an existing dst is replaced)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    if copy:
        shutil.copyfile(src, dst)
    else:
        os.symlink(src.resolve(), dst)


def _check_videos(videos_dir: Path, names: list[str]) -> tuple[dict, list[str]]:
    """Duration (s) of each named video, and a problem line for each one missing or unreadable."""
    from tcd.video import VideoError, probe

    durations, problems = {}, []
    for name in names:
        path = videos_dir / name
        if not path.is_file():
            problems.append(f"{name}: named in the captions file but not in {videos_dir}; fix the name or add it")
            continue
        try:
            durations[name] = round(probe(path).duration, 3)
        except VideoError as e:
            problems.append(f"{name}: {e}; re-encode it (ffmpeg -i in.mp4 -c:v libx264 out.mp4) or drop its rows")
    return durations, problems


def import_folder(videos_dir: str | Path, captions: str | Path, out_root: str | Path, domain: str = "User",
                  copy: bool = False) -> dict:
    """Build OUT_ROOT from VIDEOS_DIR and the captions file; return a summary. Nothing is written on error."""
    videos_dir, out_root = Path(videos_dir), Path(out_root)
    if not videos_dir.is_dir():
        raise FolderImportError(f"{videos_dir}: not a folder of videos")
    if list(out_root.glob("TextVR_*.json")):
        raise FolderImportError(f"{out_root} already holds a corpus; remove it or choose another OUT_ROOT")
    rows = read_captions(captions)
    names = list(dict.fromkeys(r["video"] for r in rows))  # first-appearance order
    durations, problems = _check_videos(videos_dir, names)
    problems += _split_conflicts(rows)
    if problems:
        raise FolderImportError("\n".join(problems))
    entries = _entries(rows, durations, domain)
    for split in SPLITS:
        if entries[split]:
            write_annotations(out_root / f"TextVR_{split}.json", entries[split])
    uncaptioned = sorted(str(p.relative_to(videos_dir)) for p in videos_dir.rglob("*.mp4")
                         if str(p.relative_to(videos_dir)) not in durations)
    for name in list(durations) + uncaptioned:
        place_video(videos_dir / name, out_root / "Videos" / domain / name, copy)
    return {"out_root": str(out_root), "domain": domain, "copied": copy,
            "videos": {s: len(entries[s]) for s in SPLITS},
            "captions": {s: sum(len(e.captions) for e in entries[s]) for s in SPLITS},
            "uncaptioned": uncaptioned}


def _split_conflicts(rows: list[dict]) -> list[str]:
    """A video in both splits would be its own test answer after training on it."""
    splits: dict[str, set] = {}
    for r in rows:
        splits.setdefault(r["video"], set()).add(r["split"])
    return [f"{v}: rows in both train and test; give all its rows one split" for v, s in splits.items() if len(s) > 1]


def _entries(rows: list[dict], durations: dict, domain: str) -> dict[str, list[VideoEntry]]:
    """One entry per video, its captions in file order; desc_id is the caption's row number in the file."""
    by_video: dict[str, list[dict]] = {}
    for r in rows:
        by_video.setdefault(r["video"], []).append(r)
    out: dict[str, list[VideoEntry]] = {s: [] for s in SPLITS}
    for name, rs in by_video.items():
        path = f"{domain}/{name}"
        out[rs[0]["split"]].append(VideoEntry(
            video_id=path[:-4], path=path, domain=domain, split=rs[0]["split"], source="import",
            ocr_path=path[:-4] + ".json", captions=tuple(r["caption"] for r in rs),
            desc_ids=tuple(r["line"] for r in rs), duration=durations[name]))
    return out
