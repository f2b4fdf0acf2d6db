"""The split view and the training loop on a real (tiny) SynthTextVR corpus with its ground-truth tracks."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from tcd.config import load_params, model_config
from tcd.corpus.synth import SynthConfig, generate
from tcd.data import SPLITS, build_captions, captions_path, frame_cache_path, load_split_data
from tcd.eval import evaluate_variant, headline, read_evaluation, retrieval_metrics, score_gallery, score_split, text_to_video_ranks, video_to_text_ranks
from tcd.model import build_model, load_model
from tcd.train import epoch_batches, pair_batches, train_model
from tcd.video import build_frame_cache
from tcd.corpus.textvr import load_split


@pytest.fixture(scope="module")
def params(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("split")
    # no hard-negative groups: 7 training videos and 1 held out, whatever validation does with groups
    generate(SynthConfig(seed=5, n_train_videos=8, n_test_videos=6, captions_per_train_video=2, seconds=2.0,
                         scene_group_share=0.0, text_group_share=0.0), tmp / "data", progress=False)
    values = {
        "paths": {"corpus": str(tmp / "data"), "work": str(tmp / "artifacts"), "reports": str(tmp / "reports")},
        "frames": {"num_frames": 4, "size": 32},
        "ocr": {"source": "provided"},
        "model": {"variant": "tcd", "vision_init": "scratch", "vision_layers": 1, "vision_width": 64, "vision_heads": 2,
                  "embed_dim": 64, "ctcd_heads": 2},
        "train": {"epochs": 2, "batch_size": 4, "warmup_steps": 1},
    }
    (tmp / "params.yaml").write_text(yaml.safe_dump(values))
    params = load_params(tmp / "params.yaml")
    for split in SPLITS:
        build_frame_cache(params.paths.corpus, load_split(params.paths.corpus, split), 4, 32, frame_cache_path(params, split))
        path = captions_path(params, split)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(build_captions(params, split)))
    return params


def test_split_view_aligns_frames_windows_and_captions(params):
    train, val = load_split_data(params, "train"), load_split_data(params, "val")
    # train.val_fraction 0.1 of 8 videos: round(0.8) = 1 held out, its frames and captions with it
    assert train.frames.shape == (7, 4, 32, 32, 3) and val.frames.shape == (1, 4, 32, 32, 3)
    assert {e.video_id for e in train.entries} | {e.video_id for e in val.entries} == \
        {e.video_id for e in load_split(params.paths.corpus, "train")}
    assert len(train.windows) == 7 and all(len(w) == 4 for w in train.windows)
    # an empty window is an empty caption with mask False, and vice versa
    for windows, mask in zip(train.windows, train.window_mask):
        assert [bool(w) for w in windows] == mask.tolist()
    assert len(train.captions) == 14 and np.bincount(train.caption_video).tolist() == [2] * 7
    assert val.captions == list(val.entries[0].captions)
    test = load_split_data(params, "test")
    assert test.caption_video.tolist() == list(range(6))  # TextVR test layout: caption i <-> video i
    batch = train.batch([0, 3], queries=["a", "b"])
    assert batch["instance_geometry"].shape[0] == 2 and batch["instance_mask"].shape == batch["instance_geometry"].shape[:2]


def corrupt_first_test_video(params, tmp_path):
    """A copy of the corpus whose first test video is not a video, with its frame cache and captions built;
    returns (params for the copy, the corrupt video's entry)."""
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(params.paths.corpus, corpus)
    victim = load_split(corpus, "test")[0]
    (corpus / "Videos" / victim.path).write_bytes(b"not a video")
    local = load_params_with(params, tmp_path, corpus)
    build_frame_cache(corpus, load_split(corpus, "test"), 4, 32, frame_cache_path(local, "test"))
    doc = build_captions(local, "test")
    assert "error" in doc["videos"][victim.video_id]
    captions_path(local, "test").parent.mkdir(parents=True, exist_ok=True)
    captions_path(local, "test").write_text(json.dumps(doc))
    return local, victim


def test_corrupt_video_is_counted_not_lost(params, tmp_path):
    local, victim = corrupt_first_test_video(params, tmp_path)
    test = load_split_data(local, "test")
    # the model's view leaves it out (training may skip it) ...
    assert len(test) == 5 and [v for v, _ in test.skipped] == [victim.video_id]
    assert len(test.captions) == 5 and victim.captions[0] not in test.captions
    # ... the evaluation gallery keeps it, and its caption
    assert test.gallery_rows.tolist() == [-1, 0, 1, 2, 3, 4]
    captions, caption_video = test.gallery_captions()
    assert captions[0] == victim.captions[0] and caption_video.tolist() == list(range(6))


def test_corrupt_video_keeps_its_column_at_the_bottom(params, tmp_path):
    local, _ = corrupt_first_test_video(params, tmp_path)
    test = load_split_data(local, "test")
    torch.manual_seed(0)
    model = build_model(model_config(local))
    out, caption_video = score_gallery(model, test)
    sim = out.sim.numpy()
    assert sim.shape == (6, 6) and np.isneginf(sim[:, 0]).all() and np.isfinite(sim[:, 1:]).all()
    assert all(torch.isneginf(part[:, 0]).all() for part in out.parts.values())
    # the decodable block is exactly what scoring the model's view gives for the same captions
    # (to float rounding: 6 queries instead of 5 change how the batched products are blocked)
    assert torch.allclose(out.sim[1:, 1:], score_split(model, test).sim, rtol=0, atol=1e-6)
    ranks = text_to_video_ranks(sim, caption_video)
    assert ranks[0] == 5.0  # its caption ranks the corrupt video last: five real scores above -inf
    np.testing.assert_allclose(ranks[1:], text_to_video_ranks(sim[1:, 1:]))  # -inf never outranks a real video
    assert video_to_text_ranks(sim, caption_video)[0] == 2.5  # a constant column: all 6 captions tie, (6 - 1) / 2


def test_evaluate_variant_writes_the_whole_gallery(params, tmp_path):
    local, victim = corrupt_first_test_video(params, tmp_path)
    local = load_params_with(local, tmp_path, local.paths.corpus, {"seeds": [0, 1]})
    for seed in (0, 1):
        torch.manual_seed(seed)
        model_dir = tmp_path / "artifacts" / "models" / "tcd" / f"seed{seed}"
        model_dir.mkdir(parents=True)
        build_model(model_config(local)).save(model_dir / "model.pt")
    shown = evaluate_variant(local, "tcd")
    doc = read_evaluation(tmp_path / "reports", "tcd")
    assert json.loads((tmp_path / "reports" / "metrics" / "tcd.json").read_text()) == headline(doc)
    assert doc == shown["metrics"] and (doc["n_videos"], doc["n_captions"], doc["undecodable_videos"]) == (6, 6, 1)
    assert shown["skipped"][0][0] == victim.video_id
    scores = tmp_path / "artifacts" / "scores" / "tcd"
    for seed in ("0", "1"):
        sim = np.load(scores / f"sim_seed{seed}.npy")
        assert sim.dtype == np.float32 and sim.shape == (6, 6) and np.isneginf(sim[:, 0]).all()
        assert retrieval_metrics(sim) == {d: doc["per_seed"][seed][d] for d in ("t2v", "v2t")}
        with np.load(scores / f"seed{seed}.npz") as saved:
            assert np.array_equal(saved["sim"], sim) and saved["scored"].tolist() == [False] + [True] * 5
    a, b = (doc["per_seed"][s]["t2v"]["MnR"] for s in ("0", "1"))
    assert doc["t2v"]["MnR"] == pytest.approx((a + b) / 2)
    assert doc["std"]["t2v"]["MnR"] == pytest.approx(abs(a - b) / np.sqrt(2))  # sample sd of two seeds
    per_domain = pd.read_csv(tmp_path / "reports" / "tables" / "per_domain" / "tcd.csv")
    assert per_domain.n_captions.sum() == 6


def load_params_with(params, tmp_path, corpus, train=None):
    values = params.to_dict()
    values["paths"] = {"corpus": str(corpus), "work": str(tmp_path / "artifacts"), "reports": str(tmp_path / "reports")}
    values["train"] = values["train"] | (train or {})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(values))
    return load_params(tmp_path / "params.yaml")


def test_epoch_batches_cover_every_video_once():
    class Fake:
        captions = ["a0", "a1", "b0", "c0", "c1", "c2"]
        caption_video = np.array([0, 0, 1, 2, 2, 2])

        def __len__(self):
            return 3

    batches = epoch_batches(Fake(), 2, np.random.default_rng(0))
    assert len(batches) == 1  # the 1-video tail has no negative for InfoNCE: dropped
    assert len(set(batches[0][0].tolist())) == 2
    assert len(epoch_batches(Fake(), 3, np.random.default_rng(0))[0][0]) == 3
    for r, queries in batches:
        for row, q in zip(r, queries):
            assert q[0] == "abc"[row]


def test_pairs_epoch_takes_every_pair_once_and_never_a_video_twice_per_batch():
    class Order:   # a generator whose shuffle is the hand-picked order below
        def permutation(self, n):
            return np.array([3, 4, 0, 5, 1, 2])

    class Fake:
        captions = ["a0", "a1", "b0", "c0", "c1", "c2"]
        caption_video = np.array([0, 0, 1, 2, 2, 2])

        def __len__(self):
            return 3

    # c0 a0 | c1 (c1 skipped once, first in line) a1 | c2 b0
    batches = epoch_batches(Fake(), 2, Order(), epoch="pairs")
    assert [q for _, q in batches] == [["c0", "a0"], ["c1", "a1"], ["c2", "b0"]]
    assert [r.tolist() for r, _ in batches] == [[2, 0], [2, 0], [2, 1]]
    for seed in range(20):
        order = np.random.default_rng(seed).permutation(6)
        packed = pair_batches(Fake.caption_video, order, 3)
        assert sorted(np.concatenate(packed).tolist()) == list(range(6))   # every pair exactly once
        assert all(len(set(Fake.caption_video[b].tolist())) == len(b) for b in packed)
        # epoch_batches drops only one-video batches (no negative), as in the videos epoch
        batches = epoch_batches(Fake(), 3, np.random.default_rng(seed), epoch="pairs")
        assert sum(len(q) for _, q in batches) == sum(len(b) for b in packed if len(b) >= 2)


def test_resume_state_loads_with_weights_only(params, tmp_path):
    train = load_split_data(params, "train")
    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        train_model(build_model(model_config(params)), train, params.train, seed=0, out_dir=tmp_path, progress=False,
                    on_epoch_end=lambda epoch: (_ for _ in ()).throw(KeyboardInterrupt))
    state = torch.load(tmp_path / "last.pt", weights_only=True)
    assert state["epoch"] == 0 and set(state) >= {"model", "optimizer", "scheduler", "numpy_rng", "torch_rng"}
    # the frozen MiniLM is rebuilt from its source, not written every epoch; everything that trains is there
    assert not any(k.startswith("text.tower.") for k in state["model"]) and "text.projection.weight" in state["model"]


def test_log_every_keeps_one_history_row_per_step_with_the_same_values(params, tmp_path):
    import dataclasses

    train = load_split_data(params, "train")
    histories = []
    for log_every in (1, 3):
        torch.manual_seed(0)
        cfg = dataclasses.replace(params.train, log_every=log_every)
        histories.append(train_model(build_model(model_config(params)), train, cfg, seed=0,
                                     out_dir=tmp_path / str(log_every), progress=False))
    a, b = (h.drop(columns="videos_per_s") for h in histories)
    assert len(a) >= 4 and a.step.tolist() == list(range(len(a)))   # 2 epochs of >= 2 batches, one row each
    pd.testing.assert_frame_equal(a, b)
    assert a.dtypes.loss == float


def test_loader_serves_epoch_batches_in_order_without_touching_torch_rng(params):
    from tcd.train import batch_loader

    train = load_split_data(params, "train")
    batches = epoch_batches(train, 3, np.random.default_rng(1))   # 7 videos: 3 + 3, the 1-video tail dropped
    assert [len(r) for r, _ in batches] == [3, 3]
    state = torch.get_rng_state()
    for workers in (0, 2):
        loader = batch_loader(train, workers)
        loader.sampler.batches = batches
        for _ in range(2):   # twice: persistent workers serve the next epoch's batches too
            served = list(loader)
            assert len(served) == 2
            for (rows, queries), batch in zip(batches, served):
                expected = train.batch(rows, queries)
                assert batch["queries"] == queries and batch["ocr_captions"] == expected["ocr_captions"]
                for key in ("frames", "frame_mask", "ocr_mask", "instance_geometry", "instance_mask"):
                    assert np.array_equal(batch[key].numpy(), expected[key]), key
    assert torch.equal(state, torch.get_rng_state())   # the loader's own generator: dropout draws stay as before


def test_loader_workers_train_to_the_same_history(params, tmp_path):
    import dataclasses

    train = load_split_data(params, "train")
    for workers in (0, 2):
        torch.manual_seed(0)
        train_model(build_model(model_config(params)), train, dataclasses.replace(params.train, loader_workers=workers),
                    seed=0, out_dir=tmp_path / str(workers), progress=False)
    a, b = (pd.read_csv(tmp_path / str(w) / "history.csv").drop(columns="videos_per_s") for w in (0, 2))
    assert len(a) == 4 and a.epoch.tolist() == [0, 0, 1, 1]   # 2 epochs of 7 videos at batch 4: 4 + 3
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_compile_wraps_the_training_loss(params, tmp_path, monkeypatch):
    import dataclasses

    compiled = []
    monkeypatch.setattr(torch, "compile", lambda fn: compiled.append(fn) or fn)   # the wiring, not inductor (minutes on CPU)
    torch.manual_seed(0)
    model = build_model(model_config(params))
    train_model(model, load_split_data(params, "train"), dataclasses.replace(params.train, compile=True), seed=0,
                out_dir=tmp_path, progress=False)
    assert compiled == [model.training_loss]


def test_training_resumes_bit_identically_after_a_kill(params, tmp_path):
    train = load_split_data(params, "train")
    config = model_config(params)

    torch.manual_seed(0)
    straight = build_model(config)
    train_model(straight, train, params.train, seed=0, out_dir=tmp_path / "straight", progress=False)

    def kill_after_first_epoch(epoch):
        if epoch == 0:
            raise KeyboardInterrupt

    torch.manual_seed(0)
    killed = build_model(config)
    with pytest.raises(KeyboardInterrupt):
        train_model(killed, train, params.train, seed=0, out_dir=tmp_path / "resumed", progress=False,
                    on_epoch_end=kill_after_first_epoch)
    assert (tmp_path / "resumed" / "last.pt").exists()
    torch.manual_seed(123)  # a fresh process would start from an unrelated RNG state
    resumed = build_model(config)
    history = train_model(resumed, train, params.train, seed=0, out_dir=tmp_path / "resumed", progress=False)
    assert history.epoch.tolist() == sorted(history.epoch.tolist()) and history.epoch.max() == 1
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), name
    assert not (tmp_path / "resumed" / "last.pt").exists()


def test_checkpoint_scores_split_reproducibly(params, tmp_path):
    train, test = load_split_data(params, "train"), load_split_data(params, "test")
    torch.manual_seed(0)
    model = build_model(model_config(params))
    train_model(model, train, params.train, seed=0, out_dir=tmp_path, progress=False)
    before = score_split(model, test)
    after = score_split(load_model(tmp_path / "model.pt"), test)
    assert torch.equal(before.sim, after.sim)
    assert set(before.parts) == {"video", "ocr", "hybrid"}
    # with every video decodable, the evaluation gallery is exactly the model's view, caption i <-> video i
    gallery, caption_video = score_gallery(model, test)
    assert torch.equal(gallery.sim, before.sim) and caption_video.tolist() == list(range(6))


def test_two_gloo_processes_train_like_one(params, tmp_path):
    import os
    import subprocess
    import sys

    from tcd.cli import main

    # 7 videos at global batch 4: steps of 4 (2 + 2 per rank) and 3 (2 + 1: uneven shards are gathered too)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params.to_dict()))
    args = ["train", "--params", str(tmp_path / "params.yaml"), "--seed", "0", "--quiet", "--out-dir"]
    assert main([*args, str(tmp_path / "one")]) == 0
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                    "--module", "tcd.cli", *args, str(tmp_path / "two")], check=True, capture_output=True,
                   env={**os.environ, "OMP_NUM_THREADS": "1"})
    one, two = (pd.read_csv(tmp_path / run / "history.csv") for run in ("one", "two"))
    assert two.epoch.tolist() == one.epoch.tolist() == [0, 0, 1, 1]
    # the same global batch, the same numbers up to float summation order: the gradient average drifts ~1e-5 in
    # 3 steps, HSC's loss up to 1.2e-4 relative (seen on 2 cores); a wrong shard or gather moves them by 1e-2 or more
    for column in ("loss", "infonce", "hsc", "grad_norm", "lr"):
        np.testing.assert_allclose(two[column], one[column], rtol=1e-3, atol=1e-6, err_msg=column)
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["history.csv", "model.pt", "train_summary.json"]


def test_shard_cuts_a_global_batch_into_contiguous_rank_slices():
    from tcd.distributed import shard

    rows, queries = np.array([5, 2, 7]), ["a", "b", "c"]
    # np.array_split: the first rank takes the extra row; gathered in rank order the batch is whole again
    assert [(r.tolist(), q) for r, q in (shard(rows, queries, k, 2) for k in (0, 1))] == [([5, 2], ["a", "b"]), ([7], ["c"])]
    assert [shard(rows, queries, k, 4)[1] for k in range(4)] == [["a"], ["b"], ["c"], []]


def test_bench_run_repeats_the_study_run_with_warm_memos_and_the_same_numbers(params, tmp_path):
    from pathlib import Path

    from tcd.model.encoders import SHARED_MEMOS
    from tcd.runbench import run_rows

    params_file = Path(params.paths.corpus).parent / "params.yaml"
    rows = run_rows(params_file, ["clip4clip", "tcd"], runs=2)
    assert [(r["variant"], r["run"], r["memos"]) for r in rows] == \
        [("clip4clip", 1, "cold"), ("clip4clip", 2, "warm"), ("tcd", 1, "cold"), ("tcd", 2, "warm")]
    assert rows[0]["t2v_r1"] == rows[1]["t2v_r1"] and rows[2]["t2v_r1"] == rows[3]["t2v_r1"]
    assert SHARED_MEMOS and all(r["seconds"] > r["train_seconds"] > 0 for r in rows)   # scoring is timed too
    moved = yaml.safe_load(params_file.read_text())
    moved["paths"]["work"] = str(tmp_path / "nothing")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(moved))
    with pytest.raises(FileNotFoundError, match=r"nothing/frames/train, .*nothing/captions/test.json missing: .*dvc repro"):
        run_rows(tmp_path / "params.yaml", ["tcd"], runs=1)
