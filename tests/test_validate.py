"""`tcd data validate`: a corpus root's annotations, videos and OCR files checked (tcd.corpus.validate).

Every broken input is generated here: tcd.video.write_video for good videos, their first bytes for a truncated
one, an empty file, random bytes; annotation and OCR files written by hand.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from tcd.cli import main
from tcd.corpus.textvr import OcrTrack, load_annotations, write_annotations, write_ocr_file
from tcd.corpus.validate import validate_corpus
from tcd.video import probe, write_video

FIXTURES = Path(__file__).parent / "fixtures" / "textvr"


def _raw_entry(path: str, caption: str = "A sign reads OPEN.", ocr: str | None = None) -> dict:
    return {"path": path, "captions_info": [{"caption": caption, "caption_info": {"duration": 1.0, "desc_id": 1}}],
            "videos_info": {"source": "t", "split": "test", "Kwai_OCR": ocr or path[:-4] + ".json"}}


def _video(path: Path, frames: int = 8) -> None:
    rng = np.random.default_rng(frames)
    write_video(path, rng.integers(0, 255, (frames, 32, 32, 3), dtype=np.uint8), fps=8)


def _ocr(path: Path, texts=("OPEN",)) -> None:
    write_ocr_file(path, [OcrTrack(str(i), t, 0.9, {0: (0, 0, 4, 0, 4, 4, 0, 4)}) for i, t in enumerate(texts)])


def _corpus(root: Path, names=("a", "b"), folder: str = "Videos") -> Path:
    """A clean root: test entries Sports/<name>.mp4 with 8-frame videos and one OCR track each."""
    entries = [_raw_entry(f"Sports/{n}.mp4", f"A sign reads {n.upper()}.") for n in names]
    (root / "TextVR_test.json").write_text(json.dumps(entries))
    for n in names:
        _video(root / folder / "Sports" / f"{n}.mp4")
        _ocr(root / "Kwai_VideoOCR" / "Sports" / f"{n}.json")
    return root


def _errors(report: dict) -> list[tuple[str, str]]:
    return [(Path(p["path"]).name, p["error"]) for p in report["problems"] if p["level"] == "error"]


def _warnings(report: dict) -> list[tuple[str, str]]:
    return [(Path(p["path"]).name, p["error"]) for p in report["problems"] if p["level"] == "warning"]


def test_clean_corpus(tmp_path):
    report = validate_corpus(_corpus(tmp_path), num_frames=4, workers=1)
    assert report["problems"] == [] and report["errors"] == 0
    assert (report["videos"], report["captions"], report["videos_folder"]) == (2, 2, "Videos")
    assert report["per_split_domain"] == {"test": {"Sports": 2}}


def test_video_folder_named_video_is_accepted_and_reported(tmp_path):
    report = validate_corpus(_corpus(tmp_path, folder="Video"), num_frames=4, workers=1)
    assert report["errors"] == 0 and report["videos_folder"] == "Video"


def test_broken_videos_are_errors_naming_the_file(tmp_path):
    root = _corpus(tmp_path, names=("good", "empty", "truncated", "garbage", "missing"))
    videos = root / "Videos" / "Sports"
    good = (videos / "good.mp4").read_bytes()
    (videos / "empty.mp4").write_bytes(b"")
    (videos / "truncated.mp4").write_bytes(good[: len(good) // 2])
    (videos / "garbage.mp4").write_bytes(np.random.default_rng(0).bytes(4096))
    (videos / "missing.mp4").unlink()
    errors = dict(_errors(validate_corpus(root, num_frames=4, workers=1)))
    assert set(errors) == {"empty.mp4", "truncated.mp4", "garbage.mp4", "missing.mp4"}
    assert "0-byte" in errors["empty.mp4"] and "video missing" in errors["missing.mp4"]
    assert all("download" in e for e in errors.values())  # each says how to fix it


def test_an_unreadable_frame_in_the_middle_is_an_error(tmp_path):
    root = _corpus(tmp_path, names=("a",))
    video = root / "Videos" / "Sports" / "a.mp4"
    write_video(video, np.random.default_rng(0).integers(0, 255, (48, 64, 64, 3), dtype=np.uint8), fps=8)
    data = bytearray(video.read_bytes())
    n = len(data)
    data[n // 2: n // 2 + n // 10] = bytes(n // 10)  # zeros over a tenth of the frame data (the index is at the end)
    video.write_bytes(bytes(data))
    assert probe(video).num_frames == 48  # the container still opens: only frames in the middle are broken
    errors = _errors(validate_corpus(root, num_frames=12, workers=1))
    assert len(errors) == 1 and errors[0][0] == "a.mp4" and "decoding failed" in errors[0][1]


def test_bad_entries_are_errors_and_the_rest_still_checked(tmp_path):
    root = _corpus(tmp_path, names=("a", "b", "c"))
    raw = json.loads((root / "TextVR_test.json").read_text())
    del raw[0]["videos_info"]["Kwai_OCR"]
    raw[1]["captions_info"][0]["caption"] = "   "
    raw.append(dict(raw[2]))  # path c listed twice
    (root / "TextVR_test.json").write_text(json.dumps(raw))
    errors = [e for _, e in _errors(validate_corpus(root, num_frames=4, workers=1))]
    assert len(errors) == 3
    assert "entry 0 (Sports/a.mp4) videos_info: missing field 'Kwai_OCR'" in errors[0]  # the path, not only the index
    assert "entry 1 (Sports/b.mp4) caption 0 is empty" in errors[1]
    assert "entry 3 (Sports/c.mp4): path already listed by entry 2" in errors[2]


def test_ocr_files_missing_or_broken(tmp_path):
    root = _corpus(tmp_path, names=("a", "b", "c"))
    (root / "Kwai_VideoOCR" / "Sports" / "a.json").unlink()
    (root / "Kwai_VideoOCR" / "Sports" / "b.json").write_text('{"1": {"text": "X"')  # cut short
    (root / "Kwai_VideoOCR" / "Sports" / "c.json").write_text('{"1": {"text": "X", "score": "0.5"}}')  # no tracks
    errors = dict(_errors(validate_corpus(root, num_frames=4, workers=1)))
    assert "OCR file missing" in errors["a.json"] and "ocr.source: easyocr" in errors["a.json"]
    assert "does not parse" in errors["b.json"] and "missing field 'tracks'" in errors["c.json"]


def test_no_ocr_folder_is_a_warning(tmp_path):
    root = _corpus(tmp_path)
    for f in (root / "Kwai_VideoOCR" / "Sports").iterdir():
        f.unlink()
    (root / "Kwai_VideoOCR" / "Sports").rmdir()
    (root / "Kwai_VideoOCR").rmdir()
    report = validate_corpus(root, num_frames=4, workers=1)
    assert report["errors"] == 0 and "no Kwai_VideoOCR/" in _warnings(report)[0][1]


def test_valid_but_nasty_inputs_are_warnings_at_most(tmp_path):
    root = _corpus(tmp_path, names=("short", "nonlatin", "crowded", "long"))
    _video(root / "Videos" / "Sports" / "short.mp4", frames=3)             # fewer frames than samples
    _ocr(root / "Kwai_VideoOCR" / "Sports" / "nonlatin.json", ["北京", "Москва"])
    _ocr(root / "Kwai_VideoOCR" / "Sports" / "crowded.json", ["EXIT"] * 10_000)
    raw = json.loads((root / "TextVR_test.json").read_text())
    raw[3]["captions_info"][0]["caption"] = "A sign reads OPEN. " * 105  # 1,995 characters
    raw[2]["captions_info"][0]["caption"] = raw[1]["captions_info"][0]["caption"]
    (root / "TextVR_test.json").write_text(json.dumps(raw))
    report = validate_corpus(root, num_frames=4, workers=1)
    assert report["errors"] == 0
    warnings = dict(_warnings(report))
    assert "only 3 frames for 4 samples" in warnings["short.mp4"]
    assert "none with Latin letters" in warnings["nonlatin.json"]
    assert "10000 OCR tracks" in warnings["crowded.json"]
    caption_warnings = [e for n, e in _warnings(report) if n == "TextVR_test.json"]
    assert any("caption 0 has 1995 characters" in e for e in caption_warnings)
    assert any("2 captions are shared" in e for e in caption_warnings)  # entries 1 and 2 share one caption


def test_captions_repeated_within_one_video_are_not_called_shared(tmp_path):
    """MSR-VTT repeats sentences within a video; that is a different warning from a caption two videos share."""
    root = _corpus(tmp_path, names=("a", "b", "c"))
    raw = json.loads((root / "TextVR_test.json").read_text())
    raw[0]["captions_info"] *= 3  # a: its one caption three times
    raw[1]["captions_info"].append(raw[2]["captions_info"][0])  # b holds c's caption too
    (root / "TextVR_test.json").write_text(json.dumps(raw))
    warnings = [e for n, e in _warnings(validate_corpus(root, num_frames=4, workers=1)) if n == "TextVR_test.json"]
    assert warnings == ["2 captions are shared with another video (e.g. 'A sign reads C.')",
                        "2 captions repeat a caption of their own video (e.g. 'A sign reads A.'); each copy counts "
                        "on its own (a training pair or a test query)"]


def test_thousands_of_entries_are_checked_in_linear_time(tmp_path):
    """20,000 entries (60,000 captions, no videos here): the annotation checks take seconds, not minutes."""
    import time

    entries = [_raw_entry(f"Sports/v{i}.mp4", f"A sign reads {i % 5000}.") for i in range(20_000)]
    (tmp_path / "TextVR_train.json").write_text(json.dumps(entries))
    start = time.perf_counter()
    report = validate_corpus(tmp_path, num_frames=4, workers=1)
    assert time.perf_counter() - start < 30  # 3 s measured on one shared core
    assert report["videos"] == 20_000 and report["errors"] == 1 + 20_000  # no Videos/, each video missing
    assert any(e.startswith("20000 captions are shared with another video") for _, e in _warnings(report))


def test_parallel_matches_serial(tmp_path):
    root = _corpus(tmp_path, names=("a", "b", "c"))
    (root / "Videos" / "Sports" / "b.mp4").write_bytes(b"")
    serial, parallel = (validate_corpus(root, num_frames=4, workers=w) for w in (1, 2))
    assert parallel == serial and serial["errors"] == 1


def test_real_entries_without_videos(tmp_path):
    write_annotations(tmp_path / "TextVR_test.json", load_annotations(FIXTURES / "TextVR_test_sample.json"))
    (tmp_path / "TextVR_test_rand.json").write_bytes((FIXTURES / "TextVR_test_rand_head20.json").read_bytes())
    report = validate_corpus(tmp_path, num_frames=12, workers=1)
    # the rand file's videos are checked too, but not counted twice; no Videos/ at all is one more error
    assert (report["videos"], report["captions"]) == (46, 46)
    assert report["files"] == {"TextVR_test.json": 46, "TextVR_test_rand.json": 20}
    assert report["errors"] == 1 + 46 + 20 and report["videos_folder"] is None
    assert sum(report["per_split_domain"]["test"].values()) == 46
    shared = [e for n, e in _warnings(report) if n == "TextVR_test.json"]  # entries 5 and 88 of the full file
    assert shared == ["2 captions are shared with another video (e.g. 'Then they are in the coffee shop them "
                      "making coffee and work')"]


def test_the_whole_real_test_file_has_no_annotation_errors(tmp_path):
    """All 2,727 real test entries parse (numeric quirks, leading spaces, duration 0, non-Latin text): the
    only errors are the videos this machine does not have."""
    import gzip

    (tmp_path / "TextVR_test.json").write_bytes(gzip.decompress((FIXTURES / "TextVR_test.json.gz").read_bytes()))
    report = validate_corpus(tmp_path, num_frames=12, workers=1)
    annotation_errors = [e for n, e in _errors(report) if n == "TextVR_test.json"]
    assert annotation_errors == [] and (report["videos"], report["captions"]) == (2727, 2727)
    assert report["errors"] == 1 + 2727  # no Videos/ folder, and each video missing
    assert sum(report["per_split_domain"]["test"].values()) == 2727


def test_cli_exit_codes_and_json(tmp_path, capsys):
    root = _corpus(tmp_path)
    assert main(["data", "validate", str(root), "--json", "--num-frames", "4", "--workers", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["videos"] == 2
    (root / "Videos" / "Sports" / "a.mp4").write_bytes(b"")
    with pytest.raises(SystemExit) as exit_:
        main(["data", "validate", str(root), "--num-frames", "4", "--workers", "1"])
    assert exit_.value.code == 1
    out = capsys.readouterr().out
    assert "error: " in out and "a.mp4" in out and out.strip().endswith("1 errors, 0 warnings")


def test_a_caption_that_is_a_number_is_named_as_one_not_as_empty(tmp_path):
    root = _corpus(tmp_path, names=("a", "b"))
    raw = json.loads((root / "TextVR_test.json").read_text())
    raw[0]["captions_info"][0]["caption"] = 2024
    raw[1]["captions_info"][0]["caption"] = None
    (root / "TextVR_test.json").write_text(json.dumps(raw))
    errors = [e for _, e in _errors(validate_corpus(root, num_frames=4, workers=1))]
    assert errors[0].endswith("entry 0 (Sports/a.mp4) caption 0 is a JSON number, not text (2024); write it as a "
                              "string in quotes")
    assert errors[1].endswith("entry 1 (Sports/b.mp4) caption 0 is empty; write a caption or remove it")
