"""Every study stage meets the messy inputs `tcd data validate` reports (issue 13), on a tiny SynthTextVR corpus
broken by hand.

Errors are skipped and counted where the study can go on without changing what it scores (a video: the frame cache
keeps its row with an all-False mask, the OCR stage a 'skipped' row, the split view its reason, the gallery its
column; an OCR file: no scene text, listed by the captions stage), and stop every stage with one line naming the file,
the entry and the fix where skipping would change the caption <-> video pairing (annotation errors). Valid but nasty
inputs work. EasyOCR is replaced by a stand-in reader (the real one takes minutes on CPU; tests/test_ocr.py runs it).
"""
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from tcd.config import load_params, model_config
from tcd.corpus.synth import SynthConfig, generate
from tcd.corpus.textvr import AnnotationError, OcrTrack, load_split, read_tracks, write_ocr_file
from tcd.corpus.validate import validate_corpus
from tcd.data import (build_captions, captions_path, corpus_card, frame_cache_path, load_split_data,
                      split_entries)
from tcd.eval import score_gallery, score_split
from tcd.lexical import evaluate_lexical, lexical_similarity
from tcd.model import build_model
from tcd.ocr import Detection, ocr_stage
from tcd.train import BatchError, train_model
from tcd.video import build_frame_cache, load_frame_cache, probe, write_video

N_TEST = 5


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean") / "data"
    generate(SynthConfig(seed=5, n_train_videos=6, n_test_videos=N_TEST, captions_per_train_video=2, seconds=2.0),
             root, progress=False)
    return root


def study(clean: Path, tmp_path: Path, train: dict | None = None, frames_workers: int = 1):
    """Params for a private copy of the clean corpus (the test breaks it), tiny model, 4 frames of 32 px."""
    corpus = tmp_path / "data"
    shutil.copytree(clean, corpus)
    values = {
        "paths": {"corpus": str(corpus), "work": str(tmp_path / "artifacts"), "reports": str(tmp_path / "reports")},
        "frames": {"num_frames": 4, "size": 32, "workers": frames_workers},
        "ocr": {"source": "provided", "workers": 1},
        "model": {"variant": "tcd", "vision_init": "scratch", "vision_layers": 1, "vision_width": 64, "vision_heads": 2,
                  "embed_dim": 64, "ctcd_heads": 2},
        "train": {"epochs": 1, "batch_size": 4, "warmup_steps": 1, **(train or {})},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(values))
    return load_params(tmp_path / "params.yaml")


def corpus_stage(params, split: str = "test") -> dict:
    return build_frame_cache(params.paths.corpus, load_split(params.paths.corpus, split), params.frames.num_frames,
                             params.frames.size, frame_cache_path(params, split), workers=params.frames.workers)


def captions_stage(params, split: str = "test") -> dict:
    doc = build_captions(params, split)
    path = captions_path(params, split)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return doc


class FakeReader:
    """Stands in for `tcd.ocr.EasyOcrReader`: reads ``texts`` on every frame, at once."""
    gpu = False
    options: dict = {}

    def __init__(self, texts=("OPEN",)):
        self.texts = texts

    def read(self, frames):
        return [[Detection(t, 0.9, (0, 0, 10, 0, 10, 5, 0, 5)) for t in self.texts] for _ in frames]


def errors(report: dict) -> list[dict]:
    return [p for p in report["problems"] if p["level"] == "error"]


def warnings_(report: dict) -> list[dict]:
    return [p for p in report["problems"] if p["level"] == "warning"]


def box(x: float = 0, y: float = 0, w: float = 20, h: float = 8) -> tuple:
    return (x, y, x + w, y, x + w, y + h, x, y + h)


def test_the_clean_corpus_has_no_errors(clean):
    assert errors(validate_corpus(clean, num_frames=4, workers=1)) == []


# --- errors: videos -----------------------------------------------------------------------------------------------

def break_video(path: Path, kind: str) -> None:
    if kind == "missing":
        path.unlink()
    elif kind == "zero-length":
        path.write_bytes(b"")
    elif kind == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "corrupt":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "unreadable middle frame":  # as in test_validate: the container opens, frames in the middle do not
        write_video(path, np.random.default_rng(0).integers(0, 255, (48, 64, 64, 3), dtype=np.uint8), fps=8)
        data = bytearray(path.read_bytes())
        n = len(data)
        data[n // 2: n // 2 + n // 10] = bytes(n // 10)
        path.write_bytes(bytes(data))
        assert probe(path).num_frames == 48
    else:
        raise ValueError(kind)


FIX = "re-encode or download the video again, or remove its entry"
VIDEO_KINDS = ["missing", "zero-length", "truncated", "corrupt", "unreadable middle frame"]


@pytest.mark.parametrize("kind", VIDEO_KINDS)
def test_a_broken_video_is_skipped_and_counted_by_every_stage(clean, tmp_path, kind):
    params = study(clean, tmp_path)
    corpus = Path(params.paths.corpus)
    entries = load_split(corpus, "test")
    victim = entries[1]
    break_video(corpus / "Videos" / victim.path, kind)

    found = errors(validate_corpus(corpus, num_frames=4, workers=1))
    assert [Path(p["path"]).name for p in found] == [Path(victim.path).name]
    # corpus stage: the row stays (all-False mask), the summary names the video and the file
    summary = corpus_stage(params)
    assert [s["video_id"] for s in summary["skipped"]] == [victim.video_id] and summary["n_ok"] == N_TEST - 1
    assert victim.path in summary["skipped"][0]["reason"] and summary["skipped"][0]["reason"].endswith(FIX)
    cache = load_frame_cache(frame_cache_path(params, "test"))
    assert not cache.mask[1].any() and cache.mask[[0, 2, 3, 4]].all()
    # OCR stage: a 'skipped: <reason>' row, no track file
    runs = ocr_stage(params, FakeReader(), workers=1, splits=("test",))["runs"]
    assert runs.status.iloc[1].startswith("skipped: ") and (runs.status != "ok").sum() == 1
    assert not (Path(params.paths.work) / "ocr" / "easyocr" / victim.ocr_path).exists()
    # captions stage: every video keeps its entry (an undecodable one its error)
    doc = captions_stage(params)
    assert list(doc["videos"]) == [e.video_id for e in entries]
    if kind in ("missing", "zero-length", "corrupt"):   # these do not even open (a truncated or damaged one may)
        assert victim.path in doc["videos"][victim.video_id]["error"] and doc["videos"][victim.video_id]["error"].endswith(FIX)
    # train/evaluate: out of the model's view with its reason, in the gallery with its caption
    test = load_split_data(params, "test")
    assert [v for v, _ in test.skipped] == [victim.video_id] and len(test) == N_TEST - 1
    assert test.gallery_rows.tolist() == [0, -1, 1, 2, 3]
    # the string-match floor reads no frame: the video is scored on its OCR like any other
    sim, caption_video, video_ids, _ = lexical_similarity(params, "test")
    assert sim.shape == (N_TEST, N_TEST) and np.isfinite(sim).all() and video_ids[1] == victim.video_id


# --- errors: OCR files --------------------------------------------------------------------------------------------

def test_a_missing_ocr_file_means_no_scene_text_and_is_counted(clean, tmp_path):
    params = study(clean, tmp_path)
    corpus = Path(params.paths.corpus)
    victim = load_split(corpus, "test")[1]
    (corpus / "Kwai_VideoOCR" / victim.ocr_path).unlink()

    (found,) = errors(validate_corpus(corpus, num_frames=4, workers=1))
    assert found["path"].endswith(victim.ocr_path) and "OCR file missing" in found["error"]
    card = corpus_card(corpus).set_index("video_id")
    assert not card.has_track_file[victim.video_id] and card.text_instances[victim.video_id] == 0
    corpus_stage(params)
    doc = captions_stage(params)
    assert doc["missing_tracks"] == [victim.video_id] and "unreadable_tracks" not in doc
    assert doc["videos"][victim.video_id]["mask"] == [False] * 4 and doc["videos"][victim.video_id]["words"] == []
    test = load_split_data(params, "test")
    assert len(test) == N_TEST and test.skipped == []   # a video without text is still a video
    sim, *_ = lexical_similarity(params, "test")
    assert (sim[:, 1] == 0).all()
    quality = ocr_stage(params, FakeReader(), workers=1, splits=("test",))["quality"]
    assert quality.has_gt.tolist() == [True, False, True, True, True]


BAD_OCR = {
    "cut short": b'{"1": {"text": "X"',
    "not an object": b"[1, 2]",
    "no tracks field": b'{"1": {"text": "X", "score": "0.5"}}',
    "short box": b'{"1": {"text": "X", "score": 0.5, "tracks": {"3": [1, 2]}}}',
    "score not a number": b'{"1": {"text": "X", "score": "high", "tracks": {"3": [1, 2, 3, 4, 5, 6, 7, 8]}}}',
    "not UTF-8": b"\xff\xfe\x00\x01",
}


@pytest.mark.parametrize("kind", list(BAD_OCR))
def test_an_ocr_file_that_does_not_parse_is_counted_not_raised(clean, tmp_path, kind):
    params = study(clean, tmp_path)
    corpus = Path(params.paths.corpus)
    victim = load_split(corpus, "test")[1]
    ocr_file = corpus / "Kwai_VideoOCR" / victim.ocr_path
    ocr_file.write_bytes(BAD_OCR[kind])

    tracks, problem = read_tracks(ocr_file)
    assert tracks == [] and problem.startswith(f"{ocr_file}: OCR file does not parse (") and "\n" not in problem
    assert problem.endswith("restore it, or set ocr.source: easyocr to read the text ourselves")
    (found,) = errors(validate_corpus(corpus, num_frames=4, workers=1))
    assert found["path"] == str(ocr_file) and "does not parse" in found["error"]
    card = corpus_card(corpus).set_index("video_id")
    assert not card.has_track_file[victim.video_id] and card.track_file_error[victim.video_id] == problem
    corpus_stage(params)
    doc = captions_stage(params)   # the known gap: this raised
    assert doc["unreadable_tracks"] == {victim.video_id: problem} and doc["missing_tracks"] == []
    assert doc["videos"][victim.video_id]["mask"] == [False] * 4 and doc["videos"][victim.video_id]["n_tracks"] == 0
    assert len(load_split_data(params, "test")) == N_TEST
    unreadable = []
    sim, *_ = lexical_similarity(params, "test", unreadable=unreadable)
    assert unreadable == [(victim.video_id, problem)] and (sim[:, 1] == 0).all()
    assert evaluate_lexical(params)["unreadable_tracks"] == [(victim.video_id, problem)]
    quality = ocr_stage(params, FakeReader(), workers=1, splits=("test",))["quality"]
    assert quality.has_gt.tolist() == [True, False, True, True, True]


# --- errors: annotations ------------------------------------------------------------------------------------------

def _duplicate(raw):
    raw.append(json.loads(json.dumps(raw[1])))
    raw[-1]["captions_info"][0]["caption"] = "Another caption of the same video."


# an entry is named by its index and its path; the path is the generated corpus's, read from the file in the test
ANNOTATION_KINDS = {
    "missing videos_info key": (lambda raw: raw[1]["videos_info"].pop("Kwai_OCR"),
                                "{entry_1} videos_info: missing field 'Kwai_OCR'", "fix or remove the entry"),
    "missing caption key": (lambda raw: raw[1]["captions_info"][0].pop("caption"),
                            "{entry_1} caption 0: missing field 'caption'", "fix or remove the entry"),
    "missing path": (lambda raw: raw[1].pop("path"), "entry 1: missing field 'path'", "fix or remove the entry"),
    "empty caption": (lambda raw: raw[1]["captions_info"][0].update(caption="  "),
                      "{entry_1} caption 0 is empty", "write a caption or remove it"),
    "duplicate path": (_duplicate, "entry 5 ({path_1}): path already listed by entry 1",
                       "merge the two entries' captions"),
}


@pytest.mark.parametrize("kind", list(ANNOTATION_KINDS))
def test_an_annotation_error_stops_every_stage_with_one_line(clean, tmp_path, kind):
    params = study(clean, tmp_path)
    corpus = Path(params.paths.corpus)
    annotations = corpus / "TextVR_test.json"
    raw = json.loads(annotations.read_text())
    change, problem, fix = ANNOTATION_KINDS[kind]
    assert len(raw) == N_TEST == 5   # "duplicate path" appends the sixth entry, index 5
    problem = problem.format(entry_1=f"entry 1 ({raw[1]['path']})", path_1=raw[1]["path"])
    change(raw)
    annotations.write_text(json.dumps(raw))

    # validate reports it as an error, with the same words the stages stop with
    found = [p for p in errors(validate_corpus(corpus, num_frames=4, workers=1)) if p["path"] == str(annotations)]
    assert len(found) == 1 and problem in found[0]["error"] and fix in found[0]["error"]
    stages = {"corpus": lambda: corpus_stage(params), "ocr": lambda: ocr_stage(params, FakeReader(), 1, ("test",)),
              "captions": lambda: build_captions(params, "test"), "split view": lambda: split_entries(params, "test"),
              "lexical": lambda: lexical_similarity(params, "test"), "corpus card": lambda: corpus_card(corpus)}
    for stage, run in stages.items():
        with pytest.raises(AnnotationError) as err:
            run()
        message = str(err.value)
        assert message.startswith(str(annotations)) and problem in message and fix in message, stage
        assert "\n" not in message and "tcd data validate" in message, stage
    assert not frame_cache_path(params, "test").exists()   # stopped before any work


def test_an_annotation_file_that_is_not_json_stops_with_one_line(clean, tmp_path):
    params = study(clean, tmp_path)
    annotations = Path(params.paths.corpus) / "TextVR_test.json"
    annotations.write_text(annotations.read_text()[:100])
    with pytest.raises(AnnotationError, match=r"TextVR_test\.json: not readable JSON .*; download or regenerate"):
        build_captions(params, "test")


# --- valid but nasty: they work, a warning at most -----------------------------------------------------------------

def test_a_video_shorter_than_the_frame_count_works(clean, tmp_path):
    params = study(clean, tmp_path)
    corpus = Path(params.paths.corpus)
    victim = load_split(corpus, "test")[1]
    path = corpus / "Videos" / victim.path
    info = probe(path)
    write_video(path, np.random.default_rng(0).integers(0, 255, (3, info.height, info.width, 3), dtype=np.uint8), fps=8)

    report = validate_corpus(corpus, num_frames=4, workers=1)
    assert errors(report) == [] and any("only 3 frames for 4 samples" in p["error"] for p in warnings_(report))
    assert corpus_stage(params)["skipped"] == []
    cache = load_frame_cache(frame_cache_path(params, "test"))
    assert cache.native_num_frames[1] == 3 and cache.mask[1].all()
    assert (ocr_stage(params, FakeReader(), workers=1, splits=("test",))["runs"].status == "ok").all()
    video = captions_stage(params)["videos"][victim.video_id]
    assert "error" not in video and len(video["windows"]) == 4
    test = load_split_data(params, "test")
    assert len(test) == N_TEST and test.skipped == []


NON_LATIN = ["北京欢迎你", "Москва", "مرحبا بكم"]


def test_ocr_with_only_non_latin_text_works(clean, tmp_path):
    params = study(clean, tmp_path)
    corpus = Path(params.paths.corpus)
    victim = load_split(corpus, "test")[1]
    write_ocr_file(corpus / "Kwai_VideoOCR" / victim.ocr_path,
                   [OcrTrack(str(i), t, 0.9, {f: box(0, 10 * i) for f in range(16)}) for i, t in enumerate(NON_LATIN)])

    report = validate_corpus(corpus, num_frames=4, workers=1)
    assert errors(report) == [] and any("none with Latin letters" in p["error"] for p in warnings_(report))
    corpus_stage(params)
    video = captions_stage(params)["videos"][victim.video_id]
    assert all(video["mask"]) and "Москва" in video["windows"][0]   # the windows carry the text as read
    assert video["words"] == []   # StarVR's tokens keep ASCII words only (as its code does)
    sim, *_ = lexical_similarity(params, "test")
    assert np.isfinite(sim).all() and (sim[:, 1] == 0).all()   # no word to match
    runs = ocr_stage(params, FakeReader(texts=NON_LATIN), workers=1, splits=("test",))["runs"]
    assert (runs.status == "ok").all() and (runs.n_tracks == 0).all() and (runs.n_dropped_nonlatin > 0).all()
    test = load_split_data(params, "test")
    torch.manual_seed(0)
    assert torch.isfinite(score_split(build_model(model_config(params)), test).sim).all()


def test_ten_thousand_ocr_instances_in_one_video_work_in_bounded_size(clean, tmp_path):
    params = study(clean, tmp_path)
    corpus = Path(params.paths.corpus)
    victim = load_split(corpus, "test")[1]
    tracks = [OcrTrack(str(i), f"WORD{i:05d} sign", round(0.5 + (i % 50) / 100, 2),
                       {f: box(i % 200, (i // 200) % 100) for f in range(i % 16, min(16, i % 16 + 3))})
              for i in range(10_000)]
    write_ocr_file(corpus / "Kwai_VideoOCR" / victim.ocr_path, tracks)

    report = validate_corpus(corpus, num_frames=4, workers=1)
    assert errors(report) == [] and any("10000 OCR tracks" in p["error"] for p in warnings_(report))
    corpus_stage(params)
    start = time.perf_counter()
    doc = captions_stage(params)
    assert time.perf_counter() - start < 60
    video = doc["videos"][victim.video_id]
    assert video["n_tracks"] == 10_000
    assert all(len(w.split()) <= params.windows.max_words for w in video["windows"]) and all(video["mask"])
    assert len(video["words"]) == params.windows.instance_words   # the best-scoring few, as StarVR keeps
    assert len(json.dumps(video)) < 50_000   # bounded by the caps, not by the instances
    sim, *_ = lexical_similarity(params, "test")
    assert np.isfinite(sim).all()
    quality = ocr_stage(params, FakeReader(), workers=1, splits=("test",))["quality"]
    assert quality.has_gt.all()
    test = load_split_data(params, "test")
    batch = test.batch([0, 1])
    assert batch["instance_geometry"].shape == (2, params.windows.instance_words, 12)


def test_a_2000_character_caption_works(clean, tmp_path):
    params = study(clean, tmp_path)
    corpus = Path(params.paths.corpus)
    annotations = corpus / "TextVR_test.json"
    raw = json.loads(annotations.read_text())
    long = ("A sign reads OPEN next to a red door. " * 60)[:2000]
    raw[1]["captions_info"][0]["caption"] = long
    annotations.write_text(json.dumps(raw))

    report = validate_corpus(corpus, num_frames=4, workers=1)
    assert errors(report) == [] and any("has 2000 characters" in p["error"] for p in warnings_(report))
    corpus_stage(params)
    captions_stage(params)
    test = load_split_data(params, "test")
    assert test.captions[1] == long
    sim, *_ = lexical_similarity(params, "test")
    assert np.isfinite(sim).all()
    torch.manual_seed(0)
    assert torch.isfinite(score_split(build_model(model_config(params)), test).sim).all()   # the tower truncates


# --- the whole chain at once, and errors inside DataLoader workers ------------------------------------------------

def test_train_and_evaluate_through_every_kind_at_once(clean, tmp_path):
    """Training with two loader workers and two decoding processes on a split holding each nasty kind and a corrupt
    video, evaluation on a split with a missing video."""
    params = study(clean, tmp_path, train={"loader_workers": 2, "val_fraction": 0}, frames_workers=2)
    corpus = Path(params.paths.corpus)
    train, test = load_split(corpus, "train"), load_split(corpus, "test")
    info = probe(corpus / "Videos" / train[0].path)
    write_video(corpus / "Videos" / train[0].path,
                np.random.default_rng(0).integers(0, 255, (3, info.height, info.width, 3), dtype=np.uint8), fps=8)
    write_ocr_file(corpus / "Kwai_VideoOCR" / train[1].ocr_path,
                   [OcrTrack(str(i), t, 0.9, {f: box(0, 10 * i) for f in range(16)}) for i, t in enumerate(NON_LATIN)])
    write_ocr_file(corpus / "Kwai_VideoOCR" / train[2].ocr_path,
                   [OcrTrack(str(i), f"WORD{i:05d}", 0.9, {i % 16: box(i % 200, i % 100)}) for i in range(10_000)])
    raw = json.loads((corpus / "TextVR_train.json").read_text())
    raw[3]["captions_info"][0]["caption"] = ("A sign reads OPEN next to a red door. " * 60)[:2000]
    (corpus / "TextVR_train.json").write_text(json.dumps(raw))
    break_video(corpus / "Videos" / train[4].path, "corrupt")
    break_video(corpus / "Videos" / test[0].path, "missing")

    for split in ("train", "test"):
        corpus_stage(params, split)
        captions_stage(params, split)
    data = load_split_data(params, "train")
    assert [v for v, _ in data.skipped] == [train[4].video_id] and len(data) == len(train) - 1
    torch.manual_seed(0)
    model = build_model(model_config(params))
    history = train_model(model, data, params.train, seed=0, out_dir=tmp_path / "run", progress=False)
    assert len(history) and np.isfinite(history.loss).all()
    sim = score_gallery(model, load_split_data(params, "test"))[0].sim.numpy()
    assert sim.shape == (N_TEST, N_TEST) and np.isneginf(sim[:, 0]).all() and np.isfinite(sim[:, 1:]).all()


@pytest.mark.parametrize("workers", [0, 2])
def test_a_batch_that_cannot_be_read_is_one_clear_error_not_a_worker_traceback(clean, tmp_path, workers):
    params = study(clean, tmp_path, train={"loader_workers": workers, "val_fraction": 0})
    corpus_stage(params, "train")
    captions_stage(params, "train")
    data = load_split_data(params, "train")
    frames = frame_cache_path(params, "train") / "frames.npy"
    with open(frames, "r+b") as f:   # the cache damaged after the split was opened (a disk full, a second run)
        f.truncate(200)
    torch.manual_seed(0)
    with pytest.raises(BatchError) as err:
        train_model(build_model(model_config(params)), data, params.train, seed=0, out_dir=tmp_path / "run",
                    progress=False)
    message = str(err.value)
    assert "frames.npy" in message and "truncated" in message and "re-run the corpus and captions stages" in message
    assert "\n" not in message and "Traceback" not in message and "worker" not in message.lower()
    assert err.value.__cause__ is None and err.value.__context__ is None


def test_a_stage_that_stops_says_why_in_one_line(monkeypatch, capsys):
    """`tcd notebook` (what `dvc repro` runs) prints the stage's own one-line error, not the cell's traceback."""
    from papermill.exceptions import PapermillExecutionError

    import tcd.notebook
    from tcd.cli import main

    message = ("data/TextVR_test.json entry 1 caption 0 is empty; write a caption or remove it "
               "(`tcd data validate ROOT` lists every problem)")

    def stops(*args, **kwargs):
        raise PapermillExecutionError(3, 4, "docs = build_captions(params, split)", "AnnotationError", message,
                                      ["Traceback (most recent call last):", "  File ...", f"AnnotationError: {message}"])

    monkeypatch.setattr(tcd.notebook, "run_notebook", stops)
    assert main(["notebook", "02_captions", "--out-dir", "somewhere"]) == 2
    err = capsys.readouterr().err
    assert err == (f"tcd: error: stage notebook 02_captions stopped in cell 4: AnnotationError: {message} "
                   "(traceback in somewhere/02_captions.ipynb)\n")
