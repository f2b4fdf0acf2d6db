"""Paper-scale training set up right (the CPU side): parameter groups, missing weights, precision, scoring bench."""

import pytest
import torch

from tcd.complexity import score_bench
from tcd.config import TrainConfig
from tcd.model import ModelConfig, build_model
from tcd.train import autocast_dtype, make_optimizer

SMALL = dict(vision_layers=1, vision_width=64, vision_heads=2, embed_dim=64, ctcd_heads=2, num_frames=2, image_size=32)


def test_pretrained_towers_train_slowly_and_norms_biases_embeddings_never_decay():
    torch.manual_seed(0)
    model = build_model(ModelConfig(variant="tcd", freeze_text=False, **SMALL))   # MiniLM is pretrained, fine-tuned here
    cfg = TrainConfig(lr=1e-3, pretrained_lr=1e-6, weight_decay=0.05)
    group_of = {id(p): g for g in make_optimizer(model, cfg).param_groups for p in g["params"]}
    names = dict(model.named_parameters())

    def lr_wd(name):
        group = group_of[id(names[name])]
        return group["lr"], group["weight_decay"]

    assert lr_wd("text.tower.model.encoder.layer.0.attention.self.query.weight") == (1e-6, 0.05)
    assert lr_wd("text.tower.model.encoder.layer.0.attention.self.query.bias") == (1e-6, 0.0)
    assert lr_wd("text.tower.model.embeddings.word_embeddings.weight") == (1e-6, 0.0)
    assert lr_wd("text.projection.weight") == (1e-3, 0.05)                      # a new layer on top of it
    assert lr_wd("vision.backbone.encoder.layers.0.mlp.fc1.weight") == (1e-3, 0.05)   # from scratch
    assert lr_wd("vision.backbone.post_layernorm.weight") == (1e-3, 0.0)
    assert lr_wd("log_logit_scale") == (1e-3, 0.0) and lr_wd("clue.video_clue") == (1e-3, 0.0)
    assert sum(len(g["params"]) for g in make_optimizer(model, cfg).param_groups) == len(names)


def test_weight_decay_follows_the_parameter_kind_not_its_name():
    """Matrices under `clue.` and the ViT's patch-embedding convolutions decay (a substring rule spared them);
    the clue tokens, type / position / class embeddings, norms and biases do not."""
    torch.manual_seed(0)
    cfg = TrainConfig(lr=1e-3, pretrained_lr=1e-6, weight_decay=0.05)

    def decay_of(model):
        group_of = {id(p): g["weight_decay"] for g in make_optimizer(model, cfg).param_groups for p in g["params"]}
        return {name: group_of[id(p)] for name, p in model.named_parameters() if p.requires_grad}

    tcd = decay_of(build_model(ModelConfig(variant="tcd", **SMALL)))
    for name in ("clue.cross_attention.q.weight", "clue.cross_attention.k.weight", "clue.cross_attention.out.weight",
                 "co_attention.q.0.weight", "vision.backbone.embeddings.patch_embedding.net.0.weight",
                 "vision.backbone.embeddings.patch_embedding.net.4.weight"):
        assert tcd[name] == 0.05, name
    assert tcd["vision.backbone.embeddings.patch_embedding.net.0.bias"] == 0.0                 # the conv stem's
    patch = decay_of(build_model(ModelConfig(variant="tcd", vision_stem="patch", **SMALL)))
    assert patch["vision.backbone.embeddings.patch_embedding.weight"] == 0.05
    for name in ("clue.video_clue", "clue.ocr_clue", "clue.type_embedding", "clue.cross_attention.q.bias",
                 "clue.cross_attention.norm_kv.weight", "vision.backbone.embeddings.position_embedding.weight",
                 "vision.backbone.embeddings.class_embedding", "log_logit_scale"):
        assert tcd[name] == 0.0, name
    seq = decay_of(build_model(ModelConfig(variant="clip4clip_seqtransf", **SMALL)))
    assert seq["temporal.position"] == 0.0                                     # a position table [N, D]
    assert seq["temporal.blocks.0.attention.q.weight"] == seq["temporal.blocks.0.mlp.0.weight"] == 0.05
    assert seq["temporal.blocks.0.norm1.weight"] == seq["temporal.blocks.0.mlp.0.bias"] == 0.0
    starvr = decay_of(build_model(ModelConfig(variant="starvr", **SMALL)))
    assert starvr["instance_fusion.type_embedding"] == 0.0 and starvr["instance_fusion.query"] == 0.0
    assert starvr["instance_fusion.geometry.weight"] == 0.05


def test_clip_b32_without_its_weights_is_an_error_naming_the_fix():
    with pytest.raises(FileNotFoundError, match=r"openai/clip-vit-base-patch32.*HF_HOME.*model\.vision.*allow_random_weights"):
        build_model(ModelConfig(variant="clip4clip", preset="clip-b32"))


def test_presets_freeze_or_fine_tune_the_text_tower():
    assert ModelConfig(preset="tiny").freeze_text_resolved is True
    assert ModelConfig(preset="clip-b32").freeze_text_resolved is False     # as the baselines the paper compares with
    assert ModelConfig(preset="clip-b32", freeze_text=True).freeze_text_resolved is True


def test_precision_bf16_on_cuda_fp32_on_the_cpu():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert autocast_dtype("auto", cpu) is None and autocast_dtype("fp32", cpu) is None
    assert autocast_dtype("bf16", cpu) is torch.bfloat16
    assert autocast_dtype("fp32", cuda) is None
    with pytest.raises(ValueError, match="train.precision='fp16'"):
        TrainConfig(precision="fp16")


def test_score_bench_times_the_evaluate_stages_all_pairs_scoring():
    row = score_bench(n=6, num_frames=2, encode_batch=4)
    assert (row["n"], row["variant"], row["device"].startswith("cpu")) == (6, "tcd", True)
    # pairs/s comes from the unrounded time; score_seconds is rounded to the millisecond
    seconds = row["score_seconds"]
    assert 36 / (seconds + 5e-4) - 1 <= row["pairs_per_s"] <= 36 / max(seconds - 5e-4, 1e-6) + 1


def test_bench_reports_flops_and_mfu_against_a_matmul_peak_and_skips_the_anchor_off_cuda(tmp_path):
    from tcd.complexity import count_flops, matmul_peak, run_anchor, score_curve

    peak = matmul_peak("cpu", n=64, repeats=1)
    assert peak["dtype"] == "float32" and peak["n"] == 64 and peak["flops_per_s"] > 0
    a = torch.zeros(3, 5)
    assert count_flops(lambda: a @ torch.zeros(5, 7)) == 2 * 3 * 5 * 7   # one multiply-add = 2 FLOPs
    rows = score_curve([4, 6], num_frames=2, encode_batch=4, repeats=1, warmup=0)
    assert [r["n"] for r in rows] == [4, 6] and rows[0]["peak_tflops"] == rows[1]["peak_tflops"]
    assert all(r["flops"] > 0 and r["mfu"] > 0 and r["peak_dtype"] == "float32" for r in rows)
    script = tmp_path / "gpu_clip_anchor.py"
    script.write_text("raise SystemExit('must not run on the CPU')\n")
    anchor = run_anchor(torch.device("cpu"), str(script))
    assert anchor["skipped"] == "gpu_clip_anchor.py needs CUDA; this run is on cpu" and anchor["script"] == str(script)
