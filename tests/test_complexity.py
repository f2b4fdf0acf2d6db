"""Table A1's measurements: FLOPs of one forward pass and the timed training step (`tcd bench complexity|train`)."""

import json

import pytest

from tcd.cli import main
from tcd.complexity import complexity_table, count_forward, synthetic_batch, train_step_table
from tcd.model import ModelConfig, build_model

SMALL = dict(batch_size=2, num_frames=2, ocr_words=3)


def test_flops_split_into_vision_text_and_head():
    rows = {r["variant"]: r for r in complexity_table("tiny", variants=("clip4clip", "starvr", "tcd"), **SMALL)}
    for row in rows.values():
        assert row["gflops"] > 0 and row["gflops_vision"] > 0 and row["gflops_head"] >= 0
        assert abs(row["gflops_vision"] + row["gflops_text"] + row["gflops_head"] - row["gflops"]) < 0.02
    assert (rows["clip4clip"]["ocr_tokens"], rows["starvr"]["ocr_tokens"], rows["tcd"]["ocr_tokens"]) == (0, 3, 2)
    # same encoders: StarVR's extra text passes and TCD's head are what cost more than CLIP4Clip
    assert rows["starvr"]["gflops_text"] > rows["clip4clip"]["gflops_text"]
    assert rows["tcd"]["gflops_head"] > rows["clip4clip"]["gflops_head"]


def test_train_step_table_times_real_steps_on_the_cpu():
    rows = train_step_table("tiny", variants=("starvr", "tcd"), steps=2, warmup=1, device="cpu", **SMALL)
    assert [r["variant"] for r in rows] == ["starvr", "tcd"]
    for row in rows:
        assert row["device"].startswith("cpu") and row["peak_memory_gb"] is None and row["freeze_text"] is True
        assert 0 < row["step_seconds_min"] <= row["step_seconds"] <= row["step_seconds_max"]
        # both are rounded from the same unrounded median, so they agree only to rounding
        assert row["videos_per_s"] == pytest.approx(2 / row["step_seconds"], rel=0.01)
    assert [r["ocr_tokens"] for r in rows] == [3, 2]


def test_bench_train_command_prints_json(capsys):
    main(["bench", "train", "--variants", "clip4clip", "--batch-size", "2", "--num-frames", "2", "--steps", "1",
          "--warmup", "0", "--device", "cpu", "--finetune-text", "--json"])
    (row,) = json.loads(capsys.readouterr().out)
    assert row["variant"] == "clip4clip" and row["freeze_text"] is False and row["steps"] == 1


def test_attention_scores_are_counted_on_the_cpu():
    # a ViT layer on one 64-px frame (T = 4x4 patches + 1 tokens, width W): q, k, v, out (4·W²) and the MLP
    # (2·W·4W) per token, plus the attention scores and their weighted sum (2·T²·W), at 2 FLOPs per multiply-add
    vision = {}
    for layers in (1, 2):
        model = build_model(ModelConfig(variant="clip4clip", num_frames=1, vision_layers=layers)).eval()
        vision[layers] = count_forward(model, synthetic_batch(model, 1, 1, 1, "cpu"))["flops_vision"]
    tokens, width = (64 // 16) ** 2 + 1, 192
    assert vision[2] - vision[1] == 2 * (tokens * (4 * width**2 + 8 * width**2) + 2 * tokens**2 * width)
