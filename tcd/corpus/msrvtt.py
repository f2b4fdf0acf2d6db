"""`tcd data convert msrvtt SRC OUT [--split 9k|7k]`: MSR-VTT (1k-A test, CLIP4Clip's files) in the TextVR layout.

SRC holds CLIP4Clip's files (directly or in msrvtt_data/, as its msrvtt_data.zip unzips) and the videos, read as
ArrowLuo/CLIP4Clip's dataloaders/dataloader_msrvtt_retrieval.py reads them:
    MSRVTT_data.json           {"videos": [{"video_id": "video0", "category": 9, "start time": .., "end time": ..}, ..],
                                "sentences": [{"video_id": "video0", "caption": str, "sen_id": int}, ..]}
    MSRVTT_train.9k.csv        column video_id: the 9,000 training videos (MSRVTT_train.7k.csv with --split 7k)
    MSRVTT_JSFUSION_test.csv   columns key, vid_key, video_id, sentence: the 1,000 test pairs (1k-A)
    videos: the first of VIDEO_FOLDERS under SRC (or msrvtt_data/..) that exists, or the official download's
    TrainValVideo/ + TestVideo/ together; --videos names others. <video_id>.mp4, .MP4 or .webm (CLIP4Clip's
    fallback; placed under its .mp4 name when PyAV decodes it, else the line says how to convert it).
OUT (new or empty) gets TextVR_train.json (every sentence of a training video, in sen_id order; an empty one is
skipped and counted), TextVR_test.json (the JSFUSION sentence of each test video, in the csv's order) and
Videos/MSRVTT/<video_id>.mp4 (symlinks, or copies). MSR-VTT ships no OCR: set ``ocr.source: easyocr``.
"""
from __future__ import annotations

from pathlib import Path

from tcd.corpus.folder import check_out_root, csv_records, find_videos, place_video, read_json
from tcd.corpus.textvr import VideoEntry, write_annotations
from tcd.errors import InputError

DOMAIN = "MSRVTT"
SPLITS = ("9k", "7k")
VIDEO_FOLDERS = ("MSRVTT_Videos", "videos/all", "MSRVTT/videos/all", "videos", "Compress_Videos")
OFFICIAL_FOLDERS = ("TrainValVideo", "TestVideo")  # the official download: both hold part of the 1k-A videos
_FIX_JSON = "download CLIP4Clip's msrvtt_data.zip again"


class ConvertError(InputError):
    """The source files are missing, malformed, or name videos that are not there (every problem listed)."""


def raise_problems(problems: list[str], shown: int = 20) -> None:
    """One ConvertError listing the first ``shown`` problems and how many more there are."""
    if problems:
        more = [f"... and {len(problems) - shown} more"] if len(problems) > shown else []
        raise ConvertError("\n".join(problems[:shown] + more))


def files_dir(src: Path) -> Path:
    """SRC, or SRC/msrvtt_data when the json is only there (CLIP4Clip's zip unzips to that folder)."""
    for d in (src, src / "msrvtt_data"):
        if (d / "MSRVTT_data.json").is_file():
            return d
    raise ConvertError(f"{src / 'MSRVTT_data.json'} not found (nor in {src / 'msrvtt_data'}): SRC must hold "
                       "CLIP4Clip's MSR-VTT files (msrvtt_data.zip)")


def _csv(path: Path, columns: set[str]) -> list[tuple[int, dict]]:
    if not path.is_file():
        raise ConvertError(f"{path} not found: SRC must hold CLIP4Clip's MSR-VTT files (msrvtt_data.zip)")
    return csv_records(path, columns, ConvertError)


def _load_data_json(path: Path) -> tuple[dict, dict, list[str]]:
    """Per video id: its metadata and its sentences in sen_id order; and a problem line per bad sentence."""
    data = read_json(path, ConvertError, _FIX_JSON)
    if not isinstance(data, dict) or not isinstance(data.get("sentences"), list):
        raise ConvertError(f"{path}: expected an object with 'videos' and a 'sentences' list; {_FIX_JSON}")
    videos = {v["video_id"]: v for v in data.get("videos") or [] if isinstance(v, dict) and "video_id" in v}
    sentences: dict[str, list] = {}
    problems = []
    for i, s in enumerate(data["sentences"]):
        if not isinstance(s, dict) or not isinstance(s.get("video_id"), str):
            problems.append(f"{path} sentences[{i}]: no video_id; fix or remove the sentence")
        elif not isinstance(s.get("sen_id", 0), int):
            problems.append(f"{path} sentences[{i}] ({s['video_id']}): sen_id {s['sen_id']!r} is not an integer")
        else:
            sentences.setdefault(s["video_id"], []).append(s)
    for ss in sentences.values():
        ss.sort(key=lambda s: s.get("sen_id", 0))
    return videos, sentences, problems


def video_dirs(src: Path, files: Path, videos: list[str] | None) -> list[Path]:
    """--videos, else the first of VIDEO_FOLDERS under SRC (or next to msrvtt_data/), else the official pair."""
    if videos:
        missing = [v for v in videos if not Path(v).is_dir()]
        if missing:
            raise ConvertError(f"--videos {missing[0]}: not a folder")
        return [Path(v) for v in videos]
    bases = list(dict.fromkeys([src, files, files.parent]))
    for name in VIDEO_FOLDERS:
        for base in bases:
            if (base / name).is_dir():
                return [base / name]
    for base in bases + [b / "MSRVTT" for b in bases]:
        official = [base / name for name in OFFICIAL_FOLDERS if (base / name).is_dir()]
        if official:
            return official
    looked = ", ".join(VIDEO_FOLDERS + ("TrainValVideo/ + TestVideo/",))
    raise ConvertError(f"no video folder under {src}: looked for {looked}; pass --videos")


def _duration(video_id: str, meta: dict) -> tuple[float, str | None]:
    try:
        return round(float(meta.get("end time", 0)) - float(meta.get("start time", 0)), 3), None
    except (TypeError, ValueError):
        return 0.0, (f"MSRVTT_data.json video {video_id}: start/end time {meta.get('start time')!r}, "
                     f"{meta.get('end time')!r} are not numbers; fix them")


def _entry(video_id: str, captions: list[str], desc_ids: list, split: str, meta: dict) -> VideoEntry:
    path = f"{DOMAIN}/{video_id}.mp4"
    return VideoEntry(video_id=path[:-4], path=path, domain=DOMAIN, split=split,
                      source=f"msrvtt/category{meta.get('category', '')}", ocr_path=path[:-4] + ".json",
                      captions=tuple(captions), desc_ids=tuple(desc_ids), duration=_duration(video_id, meta)[0])


def _empty(caption) -> bool:
    return not isinstance(caption, str) or not caption.strip()


def _id_problems(path: Path, rows: list[tuple[int, dict]]) -> list[str]:
    """Rows without a video_id, and ids listed twice (a video is one entry of the TextVR layout)."""
    out, first = [], {}
    for line, r in rows:
        v = (r.get("video_id") or "").strip()
        if not v:
            out.append(f"{path} line {line}: no video_id; fix or remove the line")
        elif v in first:
            out.append(f"{path} line {line}: {v} already listed at line {first[v]}; remove the repeated line")
        else:
            first[v] = line
    return out


def _read_lists(train_csv: Path, test_csv: Path, sentences: dict) -> tuple[dict, list, list[str]]:
    """Each training id with its non-empty sentences (csv order), the test (line, id, sentence) rows, and a
    problem line for each repeated or empty id, a training video left without a sentence, an empty test sentence."""
    train_rows, test_rows = _csv(train_csv, {"video_id"}), _csv(test_csv, {"video_id", "sentence"})
    problems = _id_problems(train_csv, train_rows) + _id_problems(test_csv, test_rows)
    first = {}
    for line, r in train_rows:
        first.setdefault((r.get("video_id") or "").strip(), line)
    first.pop("", None)
    train = {v: [s for s in sentences.get(v, []) if not _empty(s.get("caption"))] for v in first}
    test = [(line, v, r.get("sentence")) for line, r in test_rows if (v := (r.get("video_id") or "").strip())]
    problems += [f"{train_csv} line {first[v]}: {v} has no sentence in MSRVTT_data.json"
                 f"{' (only empty ones)' * (v in sentences)}; remove the line or restore its sentences"
                 for v, kept in train.items() if not kept]
    problems += [f"{test_csv} line {line}: {v} has an empty sentence; restore it (a test query cannot be dropped)"
                 for line, v, s in test if _empty(s)]
    problems += [f"{v}: in both {train_csv.name} and {test_csv.name}; a test video must not be trained on"
                 for v in sorted(set(train) & {v for _, v, _ in test})]
    return train, test, problems


def convert_msrvtt(src: str | Path, out: str | Path, videos: list[str] | str | None = None, copy: bool = False,
                   split: str = "9k") -> dict:
    """Write the TextVR layout for MSR-VTT 1k-A into OUT; return a summary. Nothing is written on error."""
    src, out = Path(src), Path(out)
    if split not in SPLITS:
        raise ConvertError(f"--split {split!r}: one of {', '.join(SPLITS)}")
    files = files_dir(src)
    meta, sentences, problems = _load_data_json(files / "MSRVTT_data.json")
    train_csv, test_csv = files / f"MSRVTT_train.{split}.csv", files / "MSRVTT_JSFUSION_test.csv"
    captions, test, found_problems = _read_lists(train_csv, test_csv, sentences)
    check_out_root(out, ConvertError)
    dirs = video_dirs(src, files, [videos] if isinstance(videos, str) else videos)
    train_ids, test_ids = list(captions), list(dict.fromkeys(v for _, v, _ in test))
    problems += found_problems + [p for v in train_ids + test_ids if (p := _duration(v, meta.get(v, {}))[1])]
    found, missing = find_videos(dirs, list(dict.fromkeys(train_ids + test_ids)))
    raise_problems(problems + missing)
    train = [_entry(v, [s["caption"] for s in captions[v]], [s.get("sen_id", i) for i, s in enumerate(captions[v])],
                    "train", meta.get(v, {})) for v in train_ids]
    test_entries = [_entry(v, [s], [i], "test", meta.get(v, {})) for i, (_, v, s) in enumerate(test)]
    write_annotations(out / "TextVR_train.json", train)
    write_annotations(out / "TextVR_test.json", test_entries)
    for v, path in found.items():
        place_video(path, out / "Videos" / DOMAIN / f"{v}.mp4", copy)
    empty = sum(len(sentences.get(v, [])) - len(captions[v]) for v in train_ids)
    webm = sum(p.suffix == ".webm" for p in found.values())
    return {"kind": "msrvtt", "split": split, "out": str(out), "files": str(files),
            "videos_dirs": [str(d) for d in dirs],
            "train": {"videos": len(train), "captions": sum(len(e.captions) for e in train)},
            "test": {"videos": len(test_entries), "captions": len(test_entries)},
            "skipped_empty_train_captions": empty, "webm_videos": webm,
            "warnings": ([f"{empty} empty training sentences in MSRVTT_data.json skipped"] if empty else [])
            + ([f"{webm} .webm videos placed under .mp4 names (PyAV reads them by content)"] if webm else []),
            "ocr": "none: set ocr.source: easyocr"}
