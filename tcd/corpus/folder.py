"""`tcd data import VIDEOS_DIR CAPTIONS OUT_ROOT`: a folder of your own videos as a TextVR-layout corpus.

CAPTIONS is a UTF-8 CSV with a header (columns ``video,caption`` and optionally ``split``) or a JSONL file (one
``{"video": ..., "caption": ..., "split": ...}`` per line). ``video`` is the file's path relative to VIDEOS_DIR
(e.g. ``trip/clip1.mp4``; ``.mp4`` in any case, or ``.webm`` that PyAV decodes); a video may have several rows
(several captions); ``split`` is ``train`` or ``test`` (default ``test``). Every video ends up under
OUT_ROOT/Videos/<domain>/<name>.mp4 (a symlink, or a copy with copy=True) and captioned ones in
TextVR_<split>.json; videos without captions are placed too (listed in the summary) so they can be captioned
and indexed later; other video files (.mov, .mkv, ...) are listed as not imported. There is no Kwai_VideoOCR:
the study reads the text itself (``ocr.source: easyocr``).

The readers here (`read_text`, `read_json`, `csv_records`, `find_videos`, `check_out_root`) are shared by the
converters (tcd.corpus.msrvtt, tcd.corpus.vitevqa): a malformed file is one line naming it, the entry and the fix.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path, PurePosixPath

from tcd.corpus.textvr import VideoEntry, write_annotations
from tcd.errors import InputError

SPLITS = ("train", "test")
VIDEO_SUFFIXES = (".mp4", ".MP4", ".webm")  # tried in this order; CLIP4Clip falls back to .webm the same way
OTHER_VIDEO_SUFFIXES = {".mov", ".mkv", ".avi", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts"}
CONVERT_HINT = "convert it: ffmpeg -i {name} -c:v libx264 {stem}.mp4"


class FolderImportError(InputError):
    """The captions file, the videos or the output root do not fit together (every problem listed)."""


def read_text(path: Path, error: type[InputError] = FolderImportError) -> str:
    """The file as text (UTF-8, a byte-order mark dropped); a missing or non-UTF-8 file is one line naming it."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise error(f"{path}: cannot read it ({e.strerror or e})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise error(f"{path} line {line}: not UTF-8 (byte 0x{data[e.start]:02x}); save the file as UTF-8, e.g. "
                    f"iconv -f latin1 -t utf-8 {Path(path).name} > utf8_{Path(path).name}") from None


def read_json(path: Path, error: type[InputError] = FolderImportError, fix: str = "download it again") -> object:
    """A JSON file's value; empty, truncated or invalid JSON is one line naming the file, the place and the fix."""
    text = read_text(path, error)
    if not text.strip():
        raise error(f"{path}: empty file; {fix}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        cut = e.pos >= len(text.rstrip()) or e.msg.startswith("Unterminated string")  # the text ended inside a value
        what = "truncated" if cut else "not valid JSON"
        raise error(f"{path} line {e.lineno} column {e.colno}: {what} ({e.msg}); {fix}") from None


def csv_records(path: Path, columns: set[str], error: type[InputError] = FolderImportError,
                header_hint: str = "") -> list[tuple[int, dict]]:
    """(first line, {column: value}) of every non-blank record of a CSV with a header. A record with more fields
    than the header (an unquoted comma) or broken quoting is an error naming its line: guessing which field a
    stray comma split would put words of a caption into the split column, or drop them."""
    text = read_text(path, error)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header, records, problems, last = None, [], [], 0
    try:
        for row in reader:
            start, last = last + 1, reader.line_num  # a quoted cell may span lines: the record starts after the last
            if not any(c.strip() for c in row):
                continue
            if header is None:
                header = [c.strip() for c in row]
                missing = columns - set(header)
                if missing:
                    raise error(f"{path}: no column {', '.join(sorted(missing))}{header_hint}")
                continue
            if len(row) > len(header):
                problems.append(f"{path} line {start}: {len(row)} fields for the {len(header)} columns "
                                f"{','.join(header)}; put a value holding commas in double quotes (\"A car, a bus\")")
            records.append((start, dict(zip(header, row))))
    except csv.Error as e:
        raise error(f"{path} line {reader.line_num}: {e}; check the double quotes around that line") from None
    if header is None:
        raise error(f"{path}: empty file; expected a header and rows{header_hint}")
    if problems:
        raise error("\n".join(problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])))
    return records


def check_out_root(out: Path, error: type[InputError] = FolderImportError) -> None:
    """OUT must be new or empty: files of an earlier conversion left beside the new ones would be read with them."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise error(f"{out}: is a file; choose a new folder")
    held = sorted(p.name + ("/" if p.is_dir() else "") for p in out.iterdir()) if out.is_dir() else []
    if held:
        shown = ", ".join(held[:4]) + (", ..." if len(held) > 4 else "")
        raise error(f"{out} already holds files ({shown}); remove it or choose another folder (a corpus is "
                    "written into a new or empty one, never over an earlier one)")


def find_video(dirs: list[Path], stem: str) -> Path | None:
    """The first of <dir>/<stem><suffix> that exists, over dirs then VIDEO_SUFFIXES."""
    for d in dirs:
        for suffix in VIDEO_SUFFIXES:
            if (d / f"{stem}{suffix}").is_file():
                return d / f"{stem}{suffix}"
    return None


def find_videos(dirs: list[Path], ids: list[str]) -> tuple[dict[str, Path], list[str]]:
    """Each id's video file (`find_video`), and a problem line for each one missing or an undecodable .webm."""
    found, problems = {}, []
    for v in ids:
        path = find_video(dirs, v)
        if path is None:
            where = str(dirs[0] / f"{v}.mp4") if len(dirs) == 1 else f"{v}.mp4 in none of {', '.join(map(str, dirs))}"
            problems.append(f"{where}: missing; download it or pass --videos")
        elif path.suffix == ".webm" and (problem := webm_problem(path)):
            problems.append(problem)
        else:
            found[v] = path
    return found, problems


def webm_problem(path: Path) -> str | None:
    """None when PyAV decodes a .webm (it is placed under its .mp4 name: the decoder reads the container from
    the bytes, not the name), else the line saying how to convert it."""
    from tcd.video import VideoError, probe, read_frames

    try:
        read_frames(path, [0])
        probe(path)
    except (VideoError, ValueError) as e:
        return f"{path}: a .webm this PyAV cannot decode ({e}); " + CONVERT_HINT.format(name=path.name, stem=path.stem)
    return None


def place_video(src: Path, dst: Path, copy: bool) -> None:
    """dst becomes a copy of src, or an absolute symlink to it (an existing dst is replaced)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    if copy:
        shutil.copyfile(src, dst)
    else:
        os.symlink(src.resolve(), dst)


def read_captions(path: str | Path) -> list[dict]:
    """Rows {video, caption, split, line} of a CSV (header) or JSONL captions file; bad rows are errors."""
    path = Path(path)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = _read_jsonl(path)
    elif path.suffix.lower() == ".csv":
        hint = "; the header must be video,caption[,split]"
        records = csv_records(path, {"video", "caption"}, header_hint=hint)
        _refuse_unknown_keys(path, records[0][1] if records else {}, "column")
        rows = [dict(video=r.get("video"), caption=r.get("caption"), split=r.get("split") or "test", line=i)
                for i, r in records]
    else:
        raise FolderImportError(f"{path}: captions must be .csv (header video,caption[,split]) or .jsonl")
    if not rows:
        raise FolderImportError(f"{path}: no caption rows; add one row per caption (video,caption[,split])")
    for r in rows:  # "./a.mp4" and "a.mp4" name one video
        if isinstance(r["video"], str) and r["video"].strip():
            r["video"] = PurePosixPath(r["video"].strip()).as_posix()
    problems = [f"{path} line {r['line']}: {p}" for r in rows for p in _row_problems(r)]
    if problems:
        raise FolderImportError("\n".join(problems))
    return rows


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    for i, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            raise FolderImportError(f"{path} line {i}: not JSON ({e})") from e
        if not isinstance(r, dict):
            raise FolderImportError(f"{path} line {i}: expected an object with video and caption")
        _refuse_unknown_keys(path, r, f"line {i}: key")
        rows.append(dict(video=r.get("video"), caption=r.get("caption"), split=r.get("split") or "test", line=i))
    return rows


def _refuse_unknown_keys(path: Path, row: dict, what: str) -> None:
    """A column or key the import does not read ("Split", "captions") would be dropped without a word."""
    unknown = sorted(set(row) - {"video", "caption", "split"})
    if unknown:
        raise FolderImportError(f"{path}: {what} {unknown[0]!r} is not read (the names are video, caption, split); "
                                "rename or remove it")


def _row_problems(row: dict) -> list[str]:
    out = []
    if not isinstance(row["video"], str) or not row["video"].strip():
        out.append("no video")
    elif row["video"].startswith("/") or ".." in PurePosixPath(row["video"]).parts:
        out.append(f"{row['video']}: give the path relative to VIDEOS_DIR")
    elif PurePosixPath(row["video"]).suffix.lower() not in (".mp4", ".webm"):
        name = PurePosixPath(row["video"]).name
        out.append(f"{row['video']}: only .mp4 and .webm are read; "
                   + CONVERT_HINT.format(name=name, stem=PurePosixPath(name).stem))
    if not isinstance(row["caption"], str) or not row["caption"].strip():
        out.append("empty caption")
    if row["split"] not in SPLITS:
        out.append(f"split {row['split']!r}; use train or test")
    return out


def corpus_name(name: str) -> str:
    """The name a video has in the corpus: its suffix becomes .mp4 (the TextVR layout's; PyAV reads by content)."""
    return str(PurePosixPath(name).with_suffix(".mp4"))


def _check_videos(videos_dir: Path, names: list[str]) -> tuple[dict, list[str]]:
    """Duration (s) of each named video, and a problem line for each one missing, unreadable or clashing."""
    from tcd.video import VideoError, probe

    durations, problems, placed = {}, [], {}
    for name in names:
        path = videos_dir / name
        if corpus_name(name) in placed:
            problems.append(f"{name} and {placed[corpus_name(name)]}: both would be {corpus_name(name)} in the "
                            "corpus; rename one")
            continue
        placed[corpus_name(name)] = name
        if not path.is_file():
            problems.append(f"{name}: named in the captions file but not in {videos_dir}; fix the name or add it")
            continue
        try:
            durations[name] = round(probe(path).duration, 3)
        except VideoError as e:
            problems.append(f"{name}: {e}; re-encode it (ffmpeg -i {path.name} -c:v libx264 {path.stem}.mp4) "
                            "or drop its rows")
    return durations, problems


def import_folder(videos_dir: str | Path, captions: str | Path, out_root: str | Path, domain: str = "User",
                  copy: bool = False) -> dict:
    """Build OUT_ROOT from VIDEOS_DIR and the captions file; return a summary. Nothing is written on error."""
    videos_dir, out_root = Path(videos_dir), Path(out_root)
    if not videos_dir.is_dir():
        raise FolderImportError(f"{videos_dir}: not a folder of videos")
    check_out_root(out_root)
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
    files = sorted(str(p.relative_to(videos_dir)) for p in videos_dir.rglob("*") if p.is_file())
    captioned = {corpus_name(n) for n in durations}
    uncaptioned = [f for f in files if f not in durations and Path(f).suffix.lower() == ".mp4"
                   and corpus_name(f) not in captioned]
    not_imported = [f for f in files if Path(f).suffix.lower() in OTHER_VIDEO_SUFFIXES | {".webm"}
                    and f not in durations]
    for name in list(durations) + uncaptioned:
        place_video(videos_dir / name, out_root / "Videos" / domain / corpus_name(name), copy)
    return {"out_root": str(out_root), "domain": domain, "copied": copy,
            "videos": {s: len(entries[s]) for s in SPLITS},
            "captions": {s: sum(len(e.captions) for e in entries[s]) for s in SPLITS},
            "uncaptioned": uncaptioned, "not_imported": not_imported,
            "warnings": [f"{len(not_imported)} video files not imported (e.g. {not_imported[0]}): caption them, "
                         "or convert them to .mp4 (ffmpeg -i in.mov -c:v libx264 out.mp4)"] if not_imported else []}


def _split_conflicts(rows: list[dict]) -> list[str]:
    """A video in both splits would be its own test answer after training on it."""
    splits: dict[str, set] = {}
    for r in rows:
        splits.setdefault(r["video"], set()).add(r["split"])
    return [f"{v}: rows in both train and test; give all its rows one split" for v, s in splits.items() if len(s) > 1]


def _entries(rows: list[dict], durations: dict, domain: str) -> dict[str, list[VideoEntry]]:
    """One entry per video, its captions in file order; desc_id is the caption's line number in the file."""
    by_video: dict[str, list[dict]] = {}
    for r in rows:
        by_video.setdefault(r["video"], []).append(r)
    out: dict[str, list[VideoEntry]] = {s: [] for s in SPLITS}
    for name, rs in by_video.items():
        path = f"{domain}/{corpus_name(name)}"
        out[rs[0]["split"]].append(VideoEntry(
            video_id=path[:-4], path=path, domain=domain, split=rs[0]["split"], source="import",
            ocr_path=path[:-4] + ".json", captions=tuple(r["caption"] for r in rs),
            desc_ids=tuple(r["line"] for r in rs), duration=durations[name]))
    return out
