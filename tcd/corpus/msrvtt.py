"""`tcd data convert msrvtt SRC OUT`: MSR-VTT (1k-A split, CLIP4Clip's files) in the TextVR layout.

SRC holds CLIP4Clip's three files and the videos:
    MSRVTT_data.json           {"videos": [{"video_id": "video0", "category": 9, "start time": .., "end time": ..}, ..],
                                "sentences": [{"video_id": "video0", "caption": str, "sen_id": int}, ..]}
    MSRVTT_train.9k.csv        column video_id: the 9,000 training videos
    MSRVTT_JSFUSION_test.csv   columns key, vid_key, video_id, sentence: the 1,000 test pairs (1k-A)
    MSRVTT_Videos/<video_id>.mp4   (or videos/all/, videos/, Compress_Videos/; --videos names another folder)
OUT gets TextVR_train.json (every sentence of a training video: 20 each), TextVR_test.json (the JSFUSION
sentence of each test video, in the csv's order) and Videos/MSRVTT/<video_id>.mp4 (symlinks, or copies).
MSR-VTT ships no OCR: set ``ocr.source: easyocr``; a video without scene text gets an empty track file and
is scored like TextVR's textless videos.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from tcd.corpus.folder import place_video
from tcd.corpus.textvr import VideoEntry, write_annotations

DOMAIN = "MSRVTT"
VIDEO_FOLDERS = ("MSRVTT_Videos", "videos/all", "videos", "Compress_Videos")


class ConvertError(ValueError):
    """The source files are missing, malformed, or name videos that are not there (every problem listed)."""


def _csv_rows(path: Path, columns: set[str]) -> list[dict]:
    if not path.is_file():
        raise ConvertError(f"{path} not found: SRC must hold CLIP4Clip's MSR-VTT files")
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = columns - set(reader.fieldnames or ())
        if missing:
            raise ConvertError(f"{path}: no column {', '.join(sorted(missing))}")
        return list(reader)


def _load_data_json(path: Path) -> tuple[dict, dict]:
    """Per video id: its metadata, and its sentences in sen_id order."""
    if not path.is_file():
        raise ConvertError(f"{path} not found: SRC must hold CLIP4Clip's MSR-VTT files")
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "sentences" not in data:
        raise ConvertError(f"{path}: expected an object with 'videos' and 'sentences'")
    videos = {v["video_id"]: v for v in data.get("videos", [])}
    sentences: dict[str, list] = {}
    for s in sorted(data["sentences"], key=lambda s: s.get("sen_id", 0)):
        sentences.setdefault(s["video_id"], []).append(s)
    return videos, sentences


def find_videos_dir(src: Path, videos: str | None) -> Path:
    """--videos, else the first of VIDEO_FOLDERS under SRC that exists."""
    candidates = [Path(videos)] if videos else [src / name for name in VIDEO_FOLDERS]
    for c in candidates:
        if c.is_dir():
            return c
    raise ConvertError(f"no video folder: looked for {', '.join(str(c) for c in candidates)}; pass --videos")


def _entry(video_id: str, captions: list[str], desc_ids: list[int], split: str, meta: dict) -> VideoEntry:
    path = f"{DOMAIN}/{video_id}.mp4"
    duration = round(float(meta.get("end time", 0)) - float(meta.get("start time", 0)), 3)
    return VideoEntry(video_id=path[:-4], path=path, domain=DOMAIN, split=split,
                      source=f"msrvtt/category{meta.get('category', '')}", ocr_path=path[:-4] + ".json",
                      captions=tuple(captions), desc_ids=tuple(desc_ids), duration=duration)


def convert_msrvtt(src: str | Path, out: str | Path, videos: str | None = None, copy: bool = False) -> dict:
    """Write the TextVR layout for MSR-VTT 1k-A into OUT; return a summary. Nothing is written on error."""
    src, out = Path(src), Path(out)
    meta, sentences = _load_data_json(src / "MSRVTT_data.json")
    train_ids = [r["video_id"] for r in _csv_rows(src / "MSRVTT_train.9k.csv", {"video_id"})]
    test_rows = _csv_rows(src / "MSRVTT_JSFUSION_test.csv", {"video_id", "sentence"})
    videos_dir = find_videos_dir(src, videos)
    test_ids = [r["video_id"] for r in test_rows]
    problems = [f"train video {v}: no sentence in MSRVTT_data.json" for v in train_ids if v not in sentences]
    problems += [f"test video {v}: listed twice in MSRVTT_JSFUSION_test.csv" for v in _repeated(test_ids)]
    problems += [f"video {v}: in both MSRVTT_train.9k.csv and the test csv" for v in sorted(set(train_ids) & set(test_ids))]
    problems += [f"{videos_dir / (v + '.mp4')}: missing; download it or pass --videos"
                 for v in dict.fromkeys(train_ids + test_ids)
                 if not (videos_dir / f"{v}.mp4").is_file()]
    raise_problems(problems)
    train = [_entry(v, [s["caption"] for s in sentences[v]], [s.get("sen_id", i) for i, s in enumerate(sentences[v])],
                    "train", meta.get(v, {})) for v in train_ids]
    test = [_entry(r["video_id"], [r["sentence"]], [i], "test", meta.get(r["video_id"], {}))
            for i, r in enumerate(test_rows)]
    write_annotations(out / "TextVR_train.json", train)
    write_annotations(out / "TextVR_test.json", test)
    for v in dict.fromkeys(train_ids + test_ids):
        place_video(videos_dir / f"{v}.mp4", out / "Videos" / DOMAIN / f"{v}.mp4", copy)
    return {"kind": "msrvtt", "out": str(out), "videos_dir": str(videos_dir),
            "train": {"videos": len(train), "captions": sum(len(e.captions) for e in train)},
            "test": {"videos": len(test), "captions": len(test)}, "ocr": "none: set ocr.source: easyocr"}


def raise_problems(problems: list[str], shown: int = 20) -> None:
    """One ConvertError listing the first ``shown`` problems and how many more there are."""
    if problems:
        more = [f"... and {len(problems) - shown} more"] if len(problems) > shown else []
        raise ConvertError("\n".join(problems[:shown] + more))


def _repeated(ids: list[str]) -> list[str]:
    seen, out = set(), []
    for v in ids:
        if v in seen and v not in out:
            out.append(v)
        seen.add(v)
    return out
