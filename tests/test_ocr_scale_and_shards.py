"""ocr.max_side (text detection on downscaled frames, boxes in original pixels) and preprocessing sharded by rank under
torchrun (frame cache and OCR equal, byte for byte, to one process)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image, ImageDraw, ImageFont

from tcd.config import OcrConfig, load_params
from tcd.corpus.synth import SynthConfig, generate
from tcd.corpus.textvr import VideoEntry, load_split, read_ocr_file
from tcd.ocr import EasyOcrReader, _upscale_box, detector_size, normalize_text, ocr_corpus
from tcd.video import write_video

ROOT = Path(__file__).resolve().parents[1]
FONT = str(Path(__import__("matplotlib").get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")


def render(text, xy, size, font_px):
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text(xy, text, fill="black", font=ImageFont.truetype(FONT, font_px))
    return np.asarray(image)


def test_detector_size_keeps_small_frames_and_the_aspect():
    assert detector_size((160, 224), OcrConfig().max_side) is None   # the study corpus: never rescaled by default
    assert detector_size((720, 1280), 640) == (360, 640)
    assert detector_size((800, 1920), 480) == (200, 480)
    assert detector_size((1280, 720), 320) == (320, 180)               # portrait: the longer side is the height
    assert detector_size((720, 1280), 0) is None and detector_size((720, 1280), 1280) is None
    # boxes grow outwards to whole original pixels and stay in the frame
    assert _upscale_box([10, 20, -3, 7], 2.0, 2.0, 30, 12) == [20, 30, 0, 12]
    assert _upscale_box([1.2, 3.6, 2, 4], 2.5, 2.0, 100, 100) == [3, 9, 4, 8]


@pytest.fixture(scope="module")
def reader():
    return EasyOcrReader(gpu=False, batch_size=4)


def test_high_resolution_text_is_found_at_a_smaller_side_in_original_pixels(reader):
    frame = render("TESCO 288", (400, 300), (1280, 720), 96)
    try:
        reader.max_side = 320
        (small,) = reader.read([frame])
    finally:
        reader.max_side = 0
    assert "TESCO288" in "".join(normalize_text(d.text) for d in small)
    xs, ys = [v for d in small for v in d.quad[0::2]], [v for d in small for v in d.quad[1::2]]
    # the text's box in the 1280x720 frame, not the 320x180 one the detector saw
    assert 360 <= min(xs) <= 410 and 280 <= min(ys) <= 340 and max(xs) > 700 and max(ys) > 380


def test_default_max_side_leaves_the_study_frames_byte_identical(tmp_path, reader):
    root = tmp_path / "TextVR"
    entries = []
    for i, word in enumerate(("TESCO 288", "OPEN 24H", "EXIT")):
        frames = np.stack([render(word, (20 + 3 * k, 50 + 10 * i), (224, 160), 24) for k in range(10)])
        write_video(root / f"Videos/Sports/v{i}.mp4", frames, fps=5)
        entries.append(VideoEntry(f"Sports/v{i}", f"Sports/v{i}.mp4", "Sports", "test", "s", f"Sports/v{i}.json",
                                  ("c",), (0,), 2.0))
    ocr_corpus(root, entries, tmp_path / "full", 1.0, reader, progress=False)
    scaled = EasyOcrReader(gpu=False, batch_size=4, max_side=OcrConfig().max_side)
    assert scaled.options["max_side"] == OcrConfig().max_side >= 224
    ocr_corpus(root, entries, tmp_path / "default", 1.0, scaled, progress=False)
    for e in entries:
        assert read_ocr_file(tmp_path / "full" / e.ocr_path)
        assert (tmp_path / "full" / e.ocr_path).read_bytes() == (tmp_path / "default" / e.ocr_path).read_bytes()


def test_share_cuts_a_corpus_into_contiguous_rank_slices():
    from tcd.distributed import all_gather_objects, broadcast_object, share

    assert [list(share(5, r, 2)) for r in range(2)] == [[0, 1, 2], [3, 4]]
    assert [list(share(2, r, 3)) for r in range(3)] == [[0], [1], []]
    assert all_gather_objects("x") == ["x"] and broadcast_object(3) == 3   # one process: identities


# --- sharded by rank under torchrun -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus_params(tmp_path_factory):
    """A tiny SynthTextVR corpus (one corrupt test video) and params writing under ``one/`` or ``two/``."""
    tmp = tmp_path_factory.mktemp("shards")
    generate(SynthConfig(seed=3, n_train_videos=3, n_test_videos=5, captions_per_train_video=1, seconds=2.0,
                         hard_negative_group_size=2), tmp / "data", progress=False)
    victim = load_split(tmp / "data", "test")[2]
    (tmp / "data" / "Videos" / victim.path).write_bytes(b"not a video")
    files = {}
    for run in ("one", "two"):
        values = {"paths": {"corpus": str(tmp / "data"), "work": str(tmp / run / "artifacts"),
                            "reports": str(tmp / run / "reports")},
                  "frames": {"num_frames": 4, "size": 32, "workers": 1},
                  "ocr": {"fps": 1.0, "workers": 1}}
        files[run] = tmp / f"{run}.yaml"
        files[run].write_text(yaml.safe_dump(values))
    return files


def run_both(files, command):
    """`tcd data <command>` in one process, then under torchrun in two gloo processes."""
    from tcd.cli import main

    assert main(["data", command, "--params", str(files["one"]), *(["--quiet"] if command == "frames" else [])]) == 0
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          "--module", "tcd.cli", "data", command, "--params", str(files["two"])],
                         capture_output=True, text=True, cwd=ROOT, timeout=600,
                         env={**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""})
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def same_files(a: Path, b: Path) -> list[str]:
    names = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    return names


def test_two_gloo_processes_build_the_frame_cache_of_one(corpus_params):
    stdout = run_both(corpus_params, "frames")
    summaries = json.loads(stdout)   # printed once, by rank 0
    assert summaries["test"]["ranks"] == 2 and len(summaries["test"]["skipped"]) == 1
    one, two = (load_params(corpus_params[run]).paths.work for run in ("one", "two"))
    names = same_files(Path(one) / "frames", Path(two) / "frames")
    assert names == [f"{split}/{f}" for split in ("test", "train")
                     for f in ("frames.npy", "mask.npy", "num_frames_native.npy", "video_ids.json")]
    mask = np.load(Path(two) / "frames" / "test" / "mask.npy")
    assert mask.all(axis=1).tolist() == [True, True, False, True, True]   # rank 0 wrote 0-2, rank 1 wrote 3-4


def test_two_gloo_processes_ocr_the_corpus_like_one(corpus_params):
    """Real EasyOCR (224x160 frames at 1 fps: 2 per video) in both runs; rank 0 writes the stage's tables."""
    stdout = run_both(corpus_params, "ocr")
    assert json.loads(stdout)["timing"]["ranks"] == 2
    one, two = (load_params(corpus_params[run]).paths for run in ("one", "two"))
    tracks = same_files(Path(one.work) / "ocr" / "easyocr", Path(two.work) / "ocr" / "easyocr")
    assert len(tracks) == 7 and any(read_ocr_file(Path(one.work) / "ocr" / "easyocr" / t) for t in tracks)
    for name in ("tables/ocr_runs.csv", "metrics/ocr_quality.json"):
        assert (Path(one.reports) / name).read_bytes() == (Path(two.reports) / name).read_bytes(), name
    assert "skipped" in (Path(two.reports) / "tables/ocr_runs.csv").read_text()


def test_bench_ocr_prints_recall_and_rate_by_max_side(capsys):
    from tcd.cli import main

    # a small stand-in for the 720p default (same code): 448x320 read whole and at the study corpus's 224 side
    assert main(["bench", "ocr", "--max-sides", "224,0", "--videos", "2", "--seconds", "1", "--width", "448",
                 "--height", "320", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["max_side"], r["detector"]) for r in rows] == [(224, "224x160"), (0, "448x320")]
    for r in rows:
        assert r["device"].startswith("cpu") and r["warmup"] == 1 and r["frames"] == 2 and r["text_scale"] == 1.0
        assert r["frames_per_s"] > 0 and 0 <= r["word_recall"] <= 1 and r["corpus"] == "SynthTextVR 448x320"
