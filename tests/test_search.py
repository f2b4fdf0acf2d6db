"""Search on a tiny SynthTextVR corpus and a one-epoch TCD checkpoint: index, add, search, explain, two stages."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

from tcd.config import load_params, model_config
from tcd.corpus.synth import SynthConfig, generate
from tcd.corpus.textvr import load_split
from tcd.data import SPLITS, build_captions, captions_path, frame_cache_path, load_split_data
from tcd.eval import score_gallery
from tcd.lexical import fuse, lexical_similarity
from tcd.model import build_model
from tcd.search import SearchIndexError, build_index, open_index, search
from tcd.search.evaluate import found_at, misspell, misspelt_caption
from tcd.search.explain import strip_frames
from tcd.search.index import MANIFEST, settings_from_params
from tcd.search.query import ranked
from tcd.train import train_model
from tcd.video import build_frame_cache

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A 6+6-video corpus with ground-truth tracks, its frame caches and captions, and a trained TCD."""
    tmp = tmp_path_factory.mktemp("search")
    generate(SynthConfig(seed=5, n_train_videos=6, n_test_videos=6, captions_per_train_video=2, seconds=2.0),
             tmp / "data", progress=False)
    values = {"paths": {"corpus": str(tmp / "data"), "work": str(tmp / "artifacts"), "reports": str(tmp / "reports")},
              "frames": {"num_frames": 4, "size": 32}, "ocr": {"source": "provided"},
              "model": {"variant": "tcd", "vision_init": "scratch", "vision_layers": 1, "vision_width": 64, "vision_heads": 2,
                        "embed_dim": 64, "ctcd_heads": 2},
              "train": {"epochs": 1, "batch_size": 4, "warmup_steps": 1, "val_fraction": 0.2, "seeds": [0]},
              "lexical": {"fusion": ["tcd"]}}
    (tmp / "params.yaml").write_text(yaml.safe_dump(values))
    params = load_params(tmp / "params.yaml")
    for split in SPLITS:
        build_frame_cache(params.paths.corpus, load_split(params.paths.corpus, split), 4, 32, frame_cache_path(params, split))
        captions_path(params, split).parent.mkdir(parents=True, exist_ok=True)
        captions_path(params, split).write_text(json.dumps(build_captions(params, split)))
    torch.manual_seed(0)
    model = build_model(model_config(params))
    ckpt = tmp / "artifacts" / "models" / "tcd" / "seed0"   # where the train stage puts it (the notebook reads it)
    train_model(model, load_split_data(params, "train"), params.train, seed=0, out_dir=ckpt, progress=False)
    (tmp / "ckpt").symlink_to(ckpt)
    test = load_split(params.paths.corpus, "test")
    build_index(params.paths.corpus, tmp / "ckpt" / "model.pt", tmp / "index", settings_from_params(params),
                entries=test, progress=False)
    return tmp, params, test


def _cli(*args, cwd=ROOT):
    code = "import sys; from tcd.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_index_holds_each_video_once_with_its_windows_in_seconds(study):
    tmp, params, test = study
    manifest = json.loads((tmp / "index" / MANIFEST).read_text())
    assert [v["id"] for v in manifest["videos"]] == [e.video_id for e in test]
    video = manifest["videos"][0]
    # 2-s clips at 8 fps = 16 frames, 4 windows at xi = 1: [0, 0.5), [0.5, 1), [1, 1.5), [1.5, 2) seconds
    assert [(w["start"], w["end"]) for w in video["windows"]] == [(0.0, 0.5), (0.5, 1.0), (1.0, 1.5), (1.5, 2.0)]
    captions = json.loads(captions_path(params, "test").read_text())["videos"][test[0].video_id]["windows"]
    assert [w["caption"] for w in video["windows"]] == captions   # the captions stage's windows
    tensors = load_file(str(tmp / "index" / "shard-0000.safetensors"))
    assert tensors["frames"].dtype == torch.float16 and tensors["frames"].shape == (6, 4, 64)
    assert not any(k.startswith("co_") for k in tensors)   # recomputed per shortlist, never stored


def test_exhaustive_search_is_the_fusion_stage_ranking(study):
    """Same checkpoint, same tracks, same fusion: each caption's ranking equals the study's fused test matrix."""
    tmp, params, test = study
    index = open_index(tmp / "index")
    model_sim = score_gallery(index.model, load_split_data(params, "test"))[0].sim.numpy().astype(np.float64)
    lexical, caption_video, _, _ = lexical_similarity(params, "test")
    captions = [c for e in test for c in e.captions]
    fused = fuse(model_sim, lexical, 0.4)
    for caption, (rows, total, _, _) in zip(captions, ranked(index, captions, weight=0.4, fuzzy=None)):
        expected = np.sort(fused[captions.index(caption)])[::-1]
        assert np.allclose(total, expected, atol=2e-3)   # fp16 features: totals within 2e-3 of fp32's
        assert rows.tolist() == np.argsort(-fused[captions.index(caption)], kind="stable").tolist()


def test_misspelt_scene_text_is_found_by_fuzzy_matching(study):
    tmp, params, test = study
    assert misspell("GRILL") == "GRlLL" and misspell("TESCO") == "TESC0" and misspell("BAR") is None
    index = open_index(tmp / "index")
    pairs = [(misspelt_caption(c), row) for row, e in enumerate(test) for c in e.captions]
    pairs = [(c, r) for c, r in pairs if c is not None]
    assert pairs, "the tiny corpus quotes no misspellable word"
    queries, rows = [c for c, _ in pairs], [r for _, r in pairs]
    string_only = dict(k=1, weight=1.0)
    exact = found_at(index, queries, rows, fuzzy=None, **string_only)
    fuzzy = found_at(index, queries, rows, fuzzy=0.8, **string_only)
    assert fuzzy.sum() > exact.sum()   # the misread word only matches fuzzily


def test_hits_are_explained_with_parts_window_and_thumbnail(study):
    tmp, params, test = study
    index = open_index(tmp / "index")
    caption = test[2].captions[0]
    hits = search(index, [caption], k=3, weight=0.5, thumbnails=tmp / "thumbs")[0]
    hit = hits[0]
    assert [h.row for h in hits] == ranked(index, [caption], weight=0.5)[0][0][:3].tolist()
    assert [h.score for h in hits] == sorted([h.score for h in hits], reverse=True)
    assert set(hit.parts) == {"video", "ocr", "hybrid", "model", "string", "string_weight"}
    assert hit.parts["model"] == pytest.approx(np.mean([hit.parts[k] for k in ("video", "ocr", "hybrid")]), abs=1e-5)
    assert hit.window in [{**w, "index": i, "matched_by": hit.window["matched_by"]}
                          for i, w in enumerate(index.videos[hit.row]["windows"])]
    from PIL import Image

    assert Image.open(hit.thumbnail).size[1] == 96


def test_strip_frames_spread_around_the_window():
    frames, inside = strip_frames(0.5, 1.0, fps=8.0, num_frames=16, n=5)
    # window widened to [0.25, 1.25) s; 5 centres 0.35, 0.55, 0.75, 0.95, 1.15 s -> frames floor(t * 8)
    assert frames.tolist() == [2, 4, 6, 7, 9] and inside.tolist() == [False, True, True, True, False]


def test_add_appends_without_reencoding_and_refuses_another_checkpoint(study, tmp_path):
    tmp, params, test = study
    settings = settings_from_params(params)
    ckpt = tmp / "ckpt" / "model.pt"
    build_index(params.paths.corpus, ckpt, tmp_path / "idx", settings, entries=test[:4], progress=False)
    first = (tmp_path / "idx" / "shard-0000.safetensors").read_bytes()
    summary = build_index(params.paths.corpus, ckpt, tmp_path / "idx", settings, entries=test, add=True, progress=False)
    assert summary["added"] == 2 and summary["already_indexed"] == 4
    assert (tmp_path / "idx" / "shard-0000.safetensors").read_bytes() == first
    whole, parts = open_index(tmp / "index"), open_index(tmp_path / "idx")
    assert [v["id"] for v in parts.videos] == [v["id"] for v in whole.videos]
    assert all(torch.equal(whole.state[k], parts.state[k]) for k in whole.state.tensors)
    other = tmp_path / "other.pt"
    torch.manual_seed(1)
    build_model(model_config(params)).save(other)
    with pytest.raises(SearchIndexError, match="not the checkpoint this index was built with"):
        build_index(params.paths.corpus, other, tmp_path / "idx", settings, entries=test, add=True, progress=False)


def test_killed_add_leaves_the_index_as_it_was(study, tmp_path, monkeypatch):
    tmp, params, test = study
    settings, ckpt = settings_from_params(params), tmp / "ckpt" / "model.pt"
    build_index(params.paths.corpus, ckpt, tmp_path / "idx", settings, entries=test[:3], progress=False)
    before = (tmp_path / "idx" / MANIFEST).read_bytes()
    import tcd.search.index as index_module

    def killed(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(index_module, "_swap_manifest", killed)   # killed after the new shard, before the swap
    with pytest.raises(KeyboardInterrupt):
        build_index(params.paths.corpus, ckpt, tmp_path / "idx", settings, entries=test, add=True, progress=False)
    assert (tmp_path / "idx" / MANIFEST).read_bytes() == before
    monkeypatch.undo()
    assert len(open_index(tmp_path / "idx")) == 3
    summary = build_index(params.paths.corpus, ckpt, tmp_path / "idx", settings, entries=test, add=True, progress=False)
    assert summary["videos"] == 6   # the half-written shard was overwritten, not counted


def test_broken_videos_are_skipped_counted_and_listed(study, tmp_path):
    tmp, params, test = study
    root = tmp_path / "root"
    shutil.copytree(params.paths.corpus, root, symlinks=True)
    (root / "Videos" / test[1].path).write_bytes(b"not a video")
    summary = build_index(root, tmp / "ckpt" / "model.pt", tmp_path / "idx", settings_from_params(params),
                          entries=test, progress=False)
    assert summary["added"] == 5 and [s["video"] for s in summary["skipped"]] == [test[1].video_id]
    assert json.loads((tmp_path / "idx" / MANIFEST).read_text())["skipped"][0]["video"] == test[1].video_id


def test_cli_search_json_and_one_line_errors(study, tmp_path, capsys):
    from tcd.cli import main

    tmp, params, test = study
    out = _cli("search", tmp / "index", test[0].captions[0], "-k", "2", "--json", "--weight", "0.5",
               "--params", tmp / "params.yaml", "--no-thumbnails")
    assert out.returncode == 0, out.stderr
    hits = json.loads(out.stdout)
    assert len(hits) == 2 and set(hits[0]) == {"video", "id", "score", "parts", "window", "thumbnail"}
    assert set(hits[0]["window"]) >= {"caption", "start", "end"}
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / MANIFEST).write_text("{not json")
    for args, message in ((("search", tmp / "index", "  "), "empty query"),
                          (("search", tmp_path / "nowhere", "GRILL"), "no such index folder"),
                          (("search", corrupt, "GRILL"), "corrupt manifest")):
        capsys.readouterr()
        assert main([*map(str, args), "--weight", "0", "--params", str(tmp / "params.yaml")]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1


def test_search_notebook_writes_the_gallery_and_the_recall_check(study):
    """The search stage: its index, the recall beside the evaluation's, the misread table and the gallery."""
    from tcd.eval import evaluate_variant, read_evaluation
    from tcd.lexical import evaluate_fusion
    from tcd.notebook import run_notebook

    tmp, params, test = study
    evaluate_variant(params, "tcd")
    evaluate_fusion(params, "tcd")
    out = tmp / "reports" / "figures" / "search"
    run_notebook("search", {"params_file": str(tmp / "params.yaml"), "gallery": 1, "k": 2, "out_dir": str(out)},
                 out_dir=tmp / "reports" / "notebooks", cwd=ROOT, progress=False, html=False)
    summary = json.loads((out / "summary.json").read_text())
    exact, evaluation = summary["recall"][0]["R@10"], summary["recall"][2]["R@10"]
    assert exact == pytest.approx(evaluation)   # 6 videos < K: exhaustive, the fusion stage's own ranking
    gallery = json.loads((out / "gallery.json").read_text())
    assert len(gallery) == 2 and len(gallery[0]["hits"]) == 2 and (out / "query_01.png").is_file()
    assert read_evaluation(tmp / "reports", "tcd+lexical")["n_videos"] == 6


def test_two_stage_keeps_the_exhaustive_top10_and_is_exact_when_k_covers_the_index():
    from tcd.search.bench import search_bench

    rows = search_bench([400], [50, 400], queries=4, threads=1)
    exact = [r for r in rows if r["K"] == 400][0]
    assert exact["kept_top10_model"] == 1.0 and exact["kept_top10_fused"] == 1.0
    assert 0.0 < [r for r in rows if r["K"] == 50][0]["kept_top10_model"] <= 1.0


def test_the_search_bench_takes_a_trained_tcd_head_and_refuses_another_variant(tmp_path):
    from tcd.model import ModelConfig, build_model
    from tcd.search.bench import search_bench

    small = dict(vision_layers=1, vision_width=64, vision_heads=2, embed_dim=64, ctcd_heads=2, num_frames=3, image_size=32)
    torch.manual_seed(3)
    build_model(ModelConfig(variant="tcd", **small)).save(tmp_path / "tcd.pt")
    rows = search_bench([300], [300], queries=2, threads=1, checkpoint=str(tmp_path / "tcd.pt"))
    assert rows[0]["head"] == str(tmp_path / "tcd.pt") and rows[0]["kept_top10_fused"] == 1.0   # exhaustive at K = 300
    build_model(ModelConfig(variant="clip4clip", **small)).save(tmp_path / "c4c.pt")
    with pytest.raises(ValueError, match=r"c4c\.pt: a clip4clip checkpoint"):
        search_bench([300], [300], queries=2, threads=1, checkpoint=str(tmp_path / "c4c.pt"))


def test_an_imported_folder_is_indexed_with_its_uncaptioned_videos(study, tmp_path):
    from tcd.corpus.folder import import_folder

    tmp, params, test = study
    videos = tmp_path / "my_videos"
    videos.mkdir()
    for n, entry in enumerate(test[:2]):
        shutil.copy(Path(params.paths.corpus) / "Videos" / entry.path, videos / f"clip{n}.mp4")
    (tmp_path / "captions.csv").write_text("video,caption\nclip0.mp4,a street at night\n")
    import_folder(videos, tmp_path / "captions.csv", tmp_path / "corpus")
    (tmp_path / "no_tracks").mkdir()
    summary = build_index(tmp_path / "corpus", tmp / "ckpt" / "model.pt", tmp_path / "idx", settings_from_params(params),
                          tracks=tmp_path / "no_tracks", progress=False)
    assert summary["added"] == 2 and summary["missing_tracks"] == 2   # clip1 has no caption, but is searchable
    hits = search(open_index(tmp_path / "idx"), ["a street at night"], k=2, weight=0.0)[0]
    assert sorted(h.id for h in hits) == ["User/clip0", "User/clip1"]


@pytest.mark.parametrize("variant,tau,exact", [("tcd", 1e-6, True), ("tcd", 5.0, False), ("clip4clip_wocr", 5.0, True)])
def test_stage_one_is_the_head_without_the_query_reweighting(variant, tau, exact):
    """Stage 1 scores with the model's own head at uniform text-condition scales: at τ → 0 the condition is uniform,
    so stage 1 is the full head (through co-attention and CTCD); at τ = 5 it is not; a variant whose video side
    does not depend on the query is always exact."""
    from tcd.model import VideoState
    from tcd.search.query import first_stage, slice_state, stage_one_vectors
    from tests.test_batched_head import _random_model
    from tests.test_model import make_batch

    model = _random_model(variant, tau=tau)
    batch = make_batch(model, b=5, seed=5)   # a textless video, padded frames, empty windows
    with torch.no_grad():
        videos = model.encode_videos(batch)
        queries = model.encode_queries(batch["queries"] + ["shop sign 7"])
        full = model.score(queries, videos).sim
    stored = VideoState({k: v.half() if v.is_floating_point() else v for k, v in videos.tensors.items()
                         if not k.startswith("co_")})   # as an index stores it
    vectors, present = stage_one_vectors(model, stored, chunk=2)
    assert vectors.shape[:2] == (5, 3 if variant == "tcd" else 2) and not present[2, 1]   # video 2 has no text
    stage_one = first_stage(queries, vectors, present)
    assert torch.allclose(stage_one, full, atol=2e-3) == exact   # fp16 storage: agreement to 1e-3
    if variant == "tcd" and exact:
        with torch.no_grad():   # the full head on the same fp16-stored state: agreement to fp32 rounding
            head = model.score(queries, slice_state(model, stored, torch.arange(5))).sim
        torch.testing.assert_close(stage_one, head, atol=1e-4, rtol=0)
