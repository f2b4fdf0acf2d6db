"""Table A1's measurements: FLOPs of one forward pass and the timed training step (`tcd bench complexity|train`)."""

import json

import pytest

from tcd.cli import main
from tcd.complexity import build_bench_model, complexity_table, count_forward, synthetic_batch, train_step_table
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
    assert all(r["flops"] > 0 and r["mfu"] > 0 and r["peak_dtype"] == "float32" for r in rows)   # vs this run's matmul
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


def test_bench_train_starts_from_a_checkpoint_frozen_or_finetuned(tmp_path, capsys):
    # the bench builds the tiny preset's default tower, so the checkpoint is one (a pretrain checkpoint's shape)
    build_model(ModelConfig(variant="clip4clip", num_frames=2)).save(tmp_path / "pre.pt")
    args = ["bench", "train", "--variants", "clip4clip", "--batch-size", "2", "--num-frames", "2", "--steps", "1",
            "--warmup", "0", "--device", "cpu", "--vision", str(tmp_path / "pre.pt"), "--json"]
    rows = {}
    for tuning in ("frozen", "finetune"):
        main([*args, "--vision-tuning", tuning])
        (rows[tuning],) = json.loads(capsys.readouterr().out)
    main(args)   # model.vision_tuning's default: frozen
    (default,) = json.loads(capsys.readouterr().out)
    assert (rows["frozen"]["vision_frozen"], rows["finetune"]["vision_frozen"], default["vision_frozen"]) == (True, False, True)
    assert "pretrained" in rows["frozen"]["encoders"]
    assert rows["frozen"]["flops"] < rows["finetune"]["flops"]   # no backward pass through the frozen backbone
    with pytest.raises(SystemExit, match="needs --vision"):
        main(args[:-3] + ["--vision-tuning", "frozen"])


def test_attention_scores_are_counted_on_the_cpu():
    # a ViT layer on one 64-px frame (T = 4x4 patches + 1 tokens, width W): q, k, v, out (4·W²) and the MLP
    # (2·W·4W) per token, plus the attention scores and their weighted sum (2·T²·W), at 2 FLOPs per multiply-add
    vision = {}
    for layers in (1, 2):
        model = build_model(ModelConfig(variant="clip4clip", num_frames=1, vision_layers=layers, vision_patch=16)).eval()
        vision[layers] = count_forward(model, synthetic_batch(model, 1, 1, 1, "cpu"))["flops_vision"]
    tokens, width = (64 // 16) ** 2 + 1, 192
    assert vision[2] - vision[1] == 2 * (tokens * (4 * width**2 + 8 * width**2) + 2 * tokens**2 * width)


# StarVR as TextVR builds it, at a tiny size: 32 wide, one layer each, 2 frames of 32 px (2 x 2 patches of 16 px)
PAPER_SMALL = dict(width=32, video_layers=1, video_heads=2, text_layers=1, text_heads=2, fusion_heads=2,
                   frame_size=32, video_frames=2, embed_dim=16)


def test_starvr_paper_trains_through_the_studys_step():
    rows = train_step_table(variants=("starvr_paper",), steps=1, warmup=1, device="cpu", batch_size=2, ocr_words=3,
                            freeze_text=False, **PAPER_SMALL)
    assert rows[0]["num_frames"] == 2 and rows[0]["ocr_tokens"] == 3 and rows[0]["freeze_text"] is False
    for freeze in (False, True):
        model, _ = build_bench_model("starvr_paper", "tiny", 12, 3, freeze_text=freeze, **PAPER_SMALL)
        loss, logs = model.training_loss(synthetic_batch(model, 2, 2, 3, "cpu"))
        loss.backward()
        assert float(logs["logit_scale"]) == pytest.approx(20.0)   # TextVR's temperature 0.05
        learned = {name.split(".")[0] for name, p in model.named_parameters() if p.grad is not None}
        towers = {"text", "ocr_text"}   # the two DistilBERTs: fine-tuned as in TextVR, or frozen as the study's towers
        assert learned >= {"video", "fusion", "geometry", "query_token"} and (towers <= learned) != freeze


def test_starvr_paper_flops_match_its_architecture():
    def flops(words, **sizes):
        model, _ = build_bench_model("starvr_paper", "tiny", 12, words, **{**PAPER_SMALL, **sizes})
        return count_forward(model.eval(), synthetic_batch(model, 2, 2, words, "cpu"))
    # each word is 3 tokens ([CLS] tokyo [SEP]) through one DistilBERT layer (w = 32): q, k, v, out and the FFN
    # (12·w² per token) and the attention (2·L²·w), at 2 FLOPs per multiply-add; 2 videos: linear in the words
    text = {k: flops(k)["flops_text"] for k in (2, 4, 6)}
    assert text[4] - text[2] == text[6] - text[4] == 2 * 2 * 2 * (3 * 12 * 32**2 + 2 * 3**2 * 32)
    # one space-time layer on T = 1 + 2 frames x 4 patches tokens: time, space and MLP linears (16·w² per token); the
    # CLS attends to all T tokens twice (2·2·T·w), a patch to its position's 2 frames + CLS (time) and its frame's
    # 4 patches + CLS (space)
    tokens, w = 1 + 2 * 4, 32
    layer = 16 * w**2 * tokens + 2 * 2 * tokens * w + 2 * 8 * (2 + 1) * w + 2 * 8 * (4 + 1) * w
    assert flops(2, video_layers=2)["flops_vision"] - flops(2)["flops_vision"] == 2 * 2 * layer


def test_bench_complexity_command_takes_variants(capsys):
    main(["bench", "complexity", "--variants", "clip4clip", "--batch-size", "1", "--json"])
    (row,) = json.loads(capsys.readouterr().out)
    assert row["variant"] == "clip4clip" and row["batch_size"] == 1
