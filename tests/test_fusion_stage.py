"""The fusion stage end to end on a tiny real SynthTextVR corpus: two seeds' checkpoints, an undecodable test video."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from tcd.config import load_params, model_config
from tcd.corpus.synth import SynthConfig, generate
from tcd.corpus.textvr import load_split
from tcd.data import SPLITS, build_captions, captions_path, frame_cache_path, load_split_data
from tcd.eval import evaluate_variant, read_evaluation, score_gallery
from tcd.lexical import FUSION_GRID, choose_fusion_weight, evaluate_fusion, fused_name, fusion_curve, lexical_similarity
from tcd.model import build_model, load_model
from tcd.video import build_frame_cache


@pytest.fixture(scope="module")
def fused(tmp_path_factory):
    """evaluate_fusion's result and the params, after evaluate_variant of two untrained seeds; test video 0 is corrupt."""
    tmp = tmp_path_factory.mktemp("fusion")
    generate(SynthConfig(seed=5, n_train_videos=8, n_test_videos=6, captions_per_train_video=2, seconds=2.0),
             tmp / "data", progress=False)
    victim = load_split(tmp / "data", "test")[0]
    (tmp / "data" / "Videos" / victim.path).write_bytes(b"not a video")
    values = {"paths": {"corpus": str(tmp / "data"), "work": str(tmp / "artifacts"), "reports": str(tmp / "reports")},
              "frames": {"num_frames": 4, "size": 32}, "ocr": {"source": "provided"},
              "model": {"variant": "tcd", "vision_init": "scratch", "vision_layers": 1, "vision_width": 64, "vision_heads": 2,
                        "embed_dim": 64, "ctcd_heads": 2},
              "train": {"seeds": [0, 1], "val_fraction": 0.25}}
    (tmp / "params.yaml").write_text(yaml.safe_dump(values))
    params = load_params(tmp / "params.yaml")
    for split in SPLITS:
        build_frame_cache(params.paths.corpus, load_split(params.paths.corpus, split), 4, 32, frame_cache_path(params, split))
        captions_path(params, split).parent.mkdir(parents=True, exist_ok=True)
        captions_path(params, split).write_text(json.dumps(build_captions(params, split)))
    for seed in (0, 1):
        torch.manual_seed(seed)
        (tmp / "artifacts" / "models" / "tcd" / f"seed{seed}").mkdir(parents=True)
        build_model(model_config(params)).save(tmp / "artifacts" / "models" / "tcd" / f"seed{seed}" / "model.pt")
    evaluate_variant(params, "tcd")
    yield evaluate_fusion(params, "tcd"), params
    shutil.rmtree(tmp)


def test_fused_metrics_are_the_test_curve_at_the_weight_validation_chose(fused):
    result, params = fused
    curve = pd.read_csv(f"{params.paths.reports}/tables/fusion/tcd.csv")
    assert curve.columns.tolist() == ["weight", "R@1", "R@5", "R@10", "MdR", "MnR", "seed", "split", "chosen"]
    pd.testing.assert_frame_equal(curve, result["curve"].astype({"chosen": bool}), check_dtype=False)
    doc = read_evaluation(params.paths.reports, fused_name("tcd"))
    for seed in ("0", "1"):
        mine = curve[curve.seed == int(seed)]
        assert mine[mine.split == "val"].weight.tolist() == list(FUSION_GRID) and mine.chosen.sum() == 2
        weight = mine[(mine.split == "val") & mine.chosen].weight.item()
        assert mine[(mine.split == "test") & mine.chosen].weight.item() == weight
        point = mine[(mine.split == "test") & (mine.weight == weight)]
        assert doc["per_seed"][seed]["t2v"]["R@1"] == pytest.approx(point["R@1"].item())


def test_undecodable_video_stays_last_in_the_fused_scores(fused):
    result, params = fused
    assert result["metrics"]["undecodable_videos"] == 1 and result["metrics"]["n_videos"] == 6
    for seed in (0, 1):
        sim = np.load(f"{params.paths.work}/scores/tcd+lexical/sim_seed{seed}.npy")
        assert sim.shape == (6, 6) and np.isneginf(sim[:, 0]).all() and np.isfinite(sim[:, 1:]).all()
        with np.load(f"{params.paths.work}/scores/tcd+lexical/seed{seed}.npz") as saved:
            assert np.array_equal(saved["sim"], sim) and saved["scored"].tolist() == [False] + [True] * 5


def test_the_weight_is_chosen_on_the_validation_videos(fused):
    # The "val" rows are the validation gallery's own curve, recomputed here from each checkpoint and BM25, and the
    # chosen weight is that curve's choice (which never sees test: tests/test_lexical.py).
    result, params = fused
    val = load_split_data(params, "val")
    lexical, targets, video_ids, _ = lexical_similarity(params, "val")
    assert video_ids == [e.video_id for e in val.gallery or val.entries] and len(val) < 8  # held-out training videos
    for seed in (0, 1):
        model = load_model(f"{params.paths.work}/models/tcd/seed{seed}/model.pt")
        sim = score_gallery(model, val)[0].sim.numpy()
        recorded = result["curve"][(result["curve"].seed == seed) & (result["curve"].split == "val")]
        pd.testing.assert_frame_equal(recorded.drop(columns=["seed", "split", "chosen"]).reset_index(drop=True),
                                      fusion_curve(sim, lexical, targets), rtol=1e-6)
        assert recorded[recorded.chosen].weight.item() == choose_fusion_weight(sim, lexical, targets)
