"""`tcd data validate ROOT`: everything the study will read from a TextVR-layout root, checked before it runs.

Annotations (every root/TextVR_*.json) must parse and carry the keys `tcd.corpus.textvr` reads; no caption may
be empty and no path listed twice in one file. Every referenced video (once, however many files name it) must
open and the frames the study samples (`segment_centers`) must decode; every OCR file under Kwai_VideoOCR must
parse. Files are checked in parallel processes; each result is a few short dicts, so memory stays bounded.

The report: {"videos": n, "captions": n, "problems": [{"path", "error", "level"}], ...} where level is
"error" (the study would skip or stop on it) or "warning" (valid but unusual: it works, and says so).
"""
from __future__ import annotations

import json
import multiprocessing
import os
import re
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tcd.corpus.textvr import (OCR_FIX, VIDEO_FOLDERS, OcrFileError, _entry_where, _parse_entry, read_ocr_file,
                               videos_dir)

LONG_CAPTION = 1000       # characters; the text tower truncates, so a longer caption is scored on its start
MANY_TRACKS = 5000        # OCR tracks in one file; the study keeps the best-scoring few, reading all costs time
_LATIN = re.compile(r"[A-Za-z0-9]")


def _problem(path, error: str, level: str = "error") -> dict:
    return {"path": str(path), "error": error, "level": level}


def check_annotation_file(path: Path) -> tuple[list, list[dict]]:
    """The entries that parse, and a problem for each one that does not, each duplicate path, each empty caption."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return [], [_problem(path, f"not readable JSON ({e}); download or regenerate the file")]
    if not isinstance(raw, list):
        return [], [_problem(path, f"expected a JSON list of entries, got {type(raw).__name__}")]
    entries, problems, first_row = [], [], {}
    for i, item in enumerate(raw):
        try:
            entry = _parse_entry(item, _entry_where(item, i))
        except ValueError as e:  # missing key or malformed path: the study cannot use the entry
            problems.append(_problem(path, f"{e}; fix or remove the entry"))
            continue
        if entry.path in first_row:
            problems.append(_problem(path, f"{_entry_where(item, i)}: path already listed by entry "
                                           f"{first_row[entry.path]}; merge the two entries' captions"))
            continue
        first_row[entry.path] = i
        problems += _caption_problems(path, _entry_where(item, i), entry.captions)
        entries.append(entry)
    return entries, problems + _duplicate_caption_warnings(path, entries)


_JSON_KIND = {bool: "boolean", int: "number", float: "number", list: "list", dict: "object"}


def _caption_problems(path: Path, where: str, captions) -> list[dict]:
    out = []
    for j, c in enumerate(captions):
        if not isinstance(c, str) and c is not None:   # 2024 or [..]: a value, not an empty caption
            kind = _JSON_KIND.get(type(c), "value")
            out.append(_problem(path, f"{where} caption {j} is a JSON {kind}, not text ({json.dumps(c)[:40]}); write it "
                                      "as a string in quotes"))
        elif not c or not c.strip():
            out.append(_problem(path, f"{where} caption {j} is empty; write a caption or remove it"))
        elif len(c) > LONG_CAPTION:
            out.append(_problem(path, f"{where} caption {j} has {len(c)} characters; the text tower reads "
                                      "only its start", "warning"))
    return out


def _duplicate_caption_warnings(path: Path, entries) -> list[dict]:
    """A warning for captions shared by several videos (TextVR's test set has some: each is a query whose other
    videos count as wrong answers), and one for captions repeated within one video (MSR-VTT has some: the
    same query counted twice)."""
    videos: dict[str, set] = {}
    repeats: Counter = Counter()
    for e in entries:
        seen = Counter(c.strip() for c in e.captions if isinstance(c, str))
        for c, n in seen.items():
            videos.setdefault(c, set()).add(e.path)
            repeats[c] += n - 1
    shared = {c: len(v) for c, v in videos.items() if len(v) > 1}
    out = []
    if shared:
        out.append(_problem(path, f"{sum(shared.values())} captions are shared with another video (e.g. "
                                  f"{max(shared, key=shared.get)[:60]!r})", "warning"))
    if sum(repeats.values()):
        example = max(repeats, key=repeats.get)
        out.append(_problem(path, f"{sum(repeats.values())} captions repeat a caption of their own video (e.g. "
                                  f"{example[:60]!r}); each copy counts on its own (a training pair or a test "
                                  "query)", "warning"))
    return out


def check_video(path: str, num_frames: int) -> list[dict]:
    """Problems of one video: missing, empty, unreadable, or a sampled frame that does not decode."""
    from tcd.video import VideoError, probe, read_frames, segment_centers

    p = Path(path)
    if not p.is_file():
        return [_problem(p, "video missing; download it again or remove its entry")]
    if p.stat().st_size == 0:
        return [_problem(p, "video is an empty (0-byte) file; download it again")]
    try:
        info = probe(p)
        read_frames(p, segment_centers(info.num_frames, num_frames))
    except (VideoError, ValueError) as e:  # corrupt, truncated, or a bad frame among those sampled
        return [_problem(p, f"{e}; re-encode or download the video again")]
    if info.num_frames < num_frames:  # frames repeat: it works
        return [_problem(p, f"only {info.num_frames} frames for {num_frames} samples; frames repeat", "warning")]
    return []


def check_ocr(path: str) -> list[dict]:
    """Problems of one OCR file: missing, unparsable, or (warnings) no Latin text, very many tracks."""
    p = Path(path)
    if not p.is_file():
        return [_problem(p, "OCR file missing; restore it, or set ocr.source: easyocr to read the text ourselves")]
    try:
        tracks = read_ocr_file(p)
    except OcrFileError as e:  # the message the stages give too (they count the video as having no text)
        return [_problem(p, f"OCR file does not parse ({e.reason}); {OCR_FIX}")]
    except OSError as e:
        return [_problem(p, f"OCR file not readable ({e}); {OCR_FIX}")]
    out = []
    if tracks and not any(_LATIN.search(t.text) for t in tracks):
        out.append(_problem(p, f"{len(tracks)} tracks, none with Latin letters or digits", "warning"))
    if len(tracks) > MANY_TRACKS:
        out.append(_problem(p, f"{len(tracks)} OCR tracks; reading them is slow", "warning"))
    return out


def _check_file(job: tuple[str, str, int]) -> list[dict]:
    kind, path, num_frames = job
    try:
        return check_video(path, num_frames) if kind == "video" else check_ocr(path)
    except Exception as e:  # anything unforeseen is still one problem naming the file, never a worker traceback
        return [_problem(path, f"could not be checked ({type(e).__name__}: {e}); inspect or replace the file")]


def _run_parallel(jobs: list[tuple[str, str, int]], workers: int) -> list[dict]:
    """All file checks, in job order; spawn, not fork: the caller may hold threads (pytest, torch)."""
    if workers <= 1 or len(jobs) < 2:
        return [p for job in jobs for p in _check_file(job)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context) as pool:
        chunk = max(1, len(jobs) // (8 * workers))
        return [p for problems in pool.map(_check_file, jobs, chunksize=chunk) for p in problems]


def validate_corpus(root: str | Path, num_frames: int = 12, workers: int | None = None) -> dict:
    """Check a TextVR-layout root; the report described in the module docstring."""
    root = Path(root)
    files = sorted(root.glob("TextVR_*.json"))
    if not files:
        return _report(root, None, {}, [_problem(root, "no TextVR_*.json annotation file; is this the corpus "
                                                       "root (paths.corpus)?")])
    entries_by_file, problems = {}, []
    for f in files:
        entries_by_file[f.name], found = check_annotation_file(f)
        problems += found
    videos = videos_dir(root)
    problems += _folder_problems(root, videos)
    jobs = _file_jobs(root, videos, entries_by_file, num_frames)
    problems += _run_parallel(jobs, workers or os.cpu_count() or 1)
    return _report(root, videos, entries_by_file, problems)


def _folder_problems(root: Path, videos: Path) -> list[dict]:
    out = []
    if not videos.is_dir():
        out.append(_problem(root, f"no {' or '.join(f + '/' for f in VIDEO_FOLDERS)} folder; put the videos "
                                  "in root/Videos/<Domain>/"))
    if not (root / "Kwai_VideoOCR").is_dir():
        out.append(_problem(root, "no Kwai_VideoOCR/ folder: set ocr.source: easyocr (the study reads the text "
                                  "itself)", "warning"))
    return out


def _file_jobs(root: Path, videos: Path, entries_by_file: dict, num_frames: int) -> list[tuple[str, str, int]]:
    """One job per distinct video and OCR file (the rand test file names the test videos again)."""
    video_paths, ocr_paths = {}, {}
    for entries in entries_by_file.values():
        for e in entries:
            video_paths.setdefault(str(videos / e.path), None)
            ocr_paths.setdefault(str(root / "Kwai_VideoOCR" / e.ocr_path), None)
    jobs = [("video", p, num_frames) for p in video_paths]
    if (root / "Kwai_VideoOCR").is_dir():  # without the folder the study runs its own OCR: nothing to check
        jobs += [("ocr", p, num_frames) for p in ocr_paths]
    return jobs


def _report(root: Path, videos: Path | None, entries_by_file: dict, problems: list[dict]) -> dict:
    """Counts over the annotation files, the scrambled test copy (TextVR_test_rand.json) left out of the sums."""
    counted = [e for name, es in entries_by_file.items() if not name.endswith("_rand.json") for e in es]
    counts: dict = defaultdict(Counter)
    for e in counted:
        counts[e.split][e.domain] += 1
    return {"root": str(root),
            "videos_folder": videos.name if videos is not None and videos.is_dir() else None,
            "videos": len({e.path for e in counted}),
            "captions": sum(len(e.captions) for e in counted),
            "files": {name: len(es) for name, es in entries_by_file.items()},
            "per_split_domain": {s: dict(sorted(c.items())) for s, c in sorted(counts.items())},
            "errors": sum(p["level"] == "error" for p in problems),
            "warnings": sum(p["level"] == "warning" for p in problems),
            "problems": problems}


def format_report(report: dict) -> str:
    """The report as lines a person reads: counts, then each problem."""
    lines = [f"{report['root']}: {report['videos']} videos, {report['captions']} captions "
             f"(videos folder: {report['videos_folder'] or 'none found'})"]
    lines += [f"  {name}: {n} entries" for name, n in report["files"].items()]
    for split, domains in report["per_split_domain"].items():
        lines.append(f"  {split}: " + ", ".join(f"{d} {n}" for d, n in domains.items()))
    lines += [f"{p['level']}: {p['path']}: {p['error']}" for p in report["problems"]]
    lines.append(f"{report['errors']} errors, {report['warnings']} warnings")
    return "\n".join(lines)
