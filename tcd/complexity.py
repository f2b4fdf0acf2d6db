"""Model complexity per variant (the paper's Table A1): token counts, parameters, FLOPs of one forward pass
(torch.utils.flop_counter), and the measured time of one training step (`train_step_table`).

The forward pass counted is the training one at batch B: B queries and B videos through the encoders
(text towers run on every string, no memo), then all B x B scores. It really runs (transformers' masking
code reads tensor values, so the meta device cannot be used): on the GPU when there is one, else on the
CPU, where the clip-b32 table takes minutes. One multiply-add counts as 2 FLOPs (torch's convention).
Synthetic inputs with fixed token lengths (see `synthetic_batch`). `gflops_head` is everything after the
encoders (pooling, text-condition, co-attention, CTCD, the B x B scores).

The paper's Table A1 (StarVR 395.2 G vs TCD 61.8 G "at batch 16") cannot be whole-batch FLOPs: ViT-B/32 on
16 x 12 frames alone is ~1.7 TFLOPs. It matches multiply-accumulates per video (fvcore/thop print MACs as
"FLOPs"): 12 ViT-B/32 frames ≈ 53 GMACs plus 12 OCR captions and one query through CLIP's text tower.
`gmacs_per_video` is that unit.

`starvr_paper` (tcd/model/starvr.py) is StarVR with its own encoders as TextVR's code builds them (space-time
ViT-B/16 on 4 frames, a DistilBERT per OCR word): the row to hold against the paper's StarVR. It is built here
by its own builder, whatever the preset, with its own 4 frames; it takes `freeze_text` and its StarVRPaperConfig
fields as overrides. Its words are `WORD`, 3 tokens with [CLS]/[SEP]: the shortest case, since TextVR pads every
word to the batch's longest (`gmacs_per_word_token` says what each extra padded token would add).
"""
from __future__ import annotations

import statistics
import time
from dataclasses import fields

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from tcd.config import TrainConfig
from tcd.model import VARIANTS, ModelConfig, build_model
from tcd.model.encoders import TextEncoder, VisionEncoder
from tcd.model.family import RetrievalModel
from tcd.model.starvr import FIELDS as STARVR_PAPER_FIELDS, DistilBertTower, SpaceTimeTransformer, build_starvr_paper
from tcd.train import autocast_dtype, cosine_with_warmup, make_optimizer, train_step

# Realistic strings (token counts matter, not content; the text memo is off, so repeats are counted).
QUERY = "the gold medalist from the cycling sports branch is jason kenny ."   # a TextVR-style caption
CAPTION = "team gb tokyo 2020 jason kenny gold"                            # one window-OCR caption
WORD = "tokyo"                                                             # one StarVR OCR word

PAPER_VARIANTS = ("starvr_paper",)        # built by their own builders (tcd/model/starvr.py), not by build_model
BENCH_VARIANTS = VARIANTS + PAPER_VARIANTS
MODEL_FIELDS = frozenset(f.name for f in fields(ModelConfig))
# the counter names a module by its class when the model calls it directly (see count_forward)
VISION_MODULES, TEXT_MODULES = ("VisionEncoder", "SpaceTimeTransformer"), ("TextEncoder", "DistilBertTower")


def build_bench_model(variant: str, preset: str, num_frames: int, ocr_words: int, **overrides) -> tuple[object, dict]:
    """(model, its row's shape: frames, video and OCR tokens per video). Family variants take ModelConfig fields as
    overrides, starvr_paper its StarVRPaperConfig fields; each ignores the other's, a name known to neither raises."""
    unknown = sorted(set(overrides) - MODEL_FIELDS - STARVR_PAPER_FIELDS)
    if unknown:
        raise ValueError(f"unknown model parameter(s): {', '.join(unknown)}")
    if variant == "starvr_paper":
        model = build_starvr_paper(max_words=max(ocr_words, 1),
                                   **{k: v for k, v in overrides.items() if k in STARVR_PAPER_FIELDS})
        return model, dict(num_frames=model.cfg.video_frames, video_tokens=1, ocr_tokens=ocr_words)
    # FLOPs and step times do not depend on the weights: a benchmark may build CLIP at random (it says so in `encoders`)
    cfg = ModelConfig(variant=variant, preset=preset, num_frames=num_frames, max_instance_words=max(ocr_words, 1),
                      **{"allow_random_weights": True, **{k: v for k, v in overrides.items() if k in MODEL_FIELDS}})
    ocr_kind = cfg.parts["ocr"]
    return build_model(cfg), dict(num_frames=num_frames, video_tokens=1 if ocr_kind == "instances" else num_frames,
                                  ocr_tokens={"none": 0, "windows": num_frames, "instances": ocr_words}[ocr_kind])


def memo_off(model) -> None:
    """Run every frozen tower on every string and frame (no memo of frozen features): what a first epoch pays."""
    for module in model.modules():
        if isinstance(module, (TextEncoder, VisionEncoder)):
            module.memoise = False


def synthetic_batch(model: RetrievalModel, batch_size: int, num_frames: int, ocr_words: int,
                    device: torch.device | str) -> dict:
    """Inputs of the right shapes: every frame, window and word present (the costliest case)."""
    size = model.cfg.image_size_resolved
    full = lambda *shape: torch.ones(*shape, dtype=torch.bool, device=device)
    return dict(
        frames=torch.zeros(batch_size, num_frames, 3, size, size, device=device), frame_mask=full(batch_size, num_frames),
        queries=[QUERY] * batch_size,
        ocr_captions=[[CAPTION] * num_frames for _ in range(batch_size)], ocr_mask=full(batch_size, num_frames),
        instance_words=[[WORD] * ocr_words for _ in range(batch_size)],
        instance_geometry=torch.zeros(batch_size, ocr_words, 12, device=device),
        instance_mask=full(batch_size, ocr_words),
    )


def count_forward(model: RetrievalModel, batch: dict) -> dict[str, int]:
    """FLOPs of queries + videos encoding and B x B scoring, split into vision / text / head."""
    memo_off(model)
    counter = FlopCounterMode(display=False)
    # The math backend of scaled_dot_product_attention runs as plain matmuls, which the counter sees; the CPU's
    # fused kernel is invisible to it (0 FLOPs), which dropped ViT-B/32's attention scores, 1% of the total.
    with counter, torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        queries = model.encode_queries(batch["queries"])
        model.score(queries, model.encode_videos(batch))
    # the counter names modules by class, from the outermost module called: the encoders are called directly
    counts = {name: sum(ops.values()) for name, ops in counter.get_flop_counts().items()}
    total = counter.get_total_flops()
    vision, text = (sum(counts.get(name, 0) for name in names) for names in (VISION_MODULES, TEXT_MODULES))
    return dict(flops=total, flops_vision=vision, flops_text=text, flops_head=total - vision - text)


def complexity_table(preset: str = "tiny", batch_size: int = 16, num_frames: int = 12, ocr_words: int = 200,
                     variants: tuple[str, ...] = VARIANTS, device: str | None = None, **overrides) -> list[dict]:
    """One row per variant: tokens, parameters and forward FLOPs at `batch_size` (see module docstring).
    `overrides` are extra model fields (see `build_bench_model`); the OCR-word count is StarVR's K."""
    rows = []
    for variant in variants:
        model, shape = build_bench_model(variant, preset, num_frames, ocr_words, **overrides)
        model = model.eval()
        params = sum(p.numel() for p in model.parameters())
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        model = model.to(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        flops = count_forward(model, synthetic_batch(model, batch_size, shape["num_frames"], ocr_words, model.device))
        rows.append(dict(
            variant=variant, preset=preset, batch_size=batch_size, **shape,
            params=params, trainable_params=trainable,
            gflops=round(flops["flops"] / 1e9, 2), gflops_vision=round(flops["flops_vision"] / 1e9, 2),
            gflops_text=round(flops["flops_text"] / 1e9, 2), gflops_head=round(flops["flops_head"] / 1e9, 3),
            # MACs per video: the unit fvcore/thop-style tools print as "FLOPs" (see module docstring)
            gmacs_per_video=round(flops["flops"] / 2 / batch_size / 1e9, 2),
            encoders=" / ".join(f"{k}: {v}" for k, v in model.encoder_info.items()),
        ))
        if variant == "starvr_paper":   # its words' padded length, and what one more token per word would add
            rows[-1]["word_tokens"] = len(model.ocr_text.tokenizer(WORD)["input_ids"])
            rows[-1]["gmacs_per_word_token"] = round(model.word_token_macs(ocr_words) / 1e9, 2)
        del model
    return rows


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"


def matmul_peak(device: torch.device | str, dtype: torch.dtype | None = None, n: int | None = None,
                repeats: int = 5) -> dict:
    """Achieved FLOP/s of an n x n matmul on ``device`` (median of ``repeats`` after one warm-up): the ceiling MFU
    is measured against, in the same run. bf16 (n = 8192) on CUDA, fp32 (n = 1024) on the CPU by default."""
    device = torch.device(device)
    dtype = dtype or (torch.bfloat16 if device.type == "cuda" else torch.float32)
    n = n or (8192 if device.type == "cuda" else 1024)
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    seconds = timed(lambda: a @ b, device, repeats, warmup=1)
    return dict(dtype=str(dtype).removeprefix("torch."), n=n, flops_per_s=2 * n ** 3 / statistics.median(seconds))


def timed(fn, device: torch.device, repeats: int, warmup: int) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones (CUDA synchronised)."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    seconds = []
    for i in range(warmup + repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        if i >= warmup:
            seconds.append(time.perf_counter() - start)
    return seconds


def count_flops(fn) -> int:
    """FLOPs of one call of ``fn`` (torch.utils.flop_counter, attention as plain matmuls, see `count_forward`)."""
    counter = FlopCounterMode(display=False)
    with counter, sdpa_kernel(SDPBackend.MATH):
        fn()
    return counter.get_total_flops()


def run_anchor(device: torch.device, script: str | None = None, batch_size: int = 64) -> dict:
    """../shared/bench/gpu_clip_anchor.py (plain HF CLIP, the issue's anchor) run in this process; its JSON, or a
    note saying why it was skipped (it needs CUDA)."""
    import contextlib
    import io
    import json
    import runpy
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    candidates = [Path(script)] if script else [root / "shared/bench/gpu_clip_anchor.py",
                                                root.parent / "shared/bench/gpu_clip_anchor.py"]
    path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        return dict(skipped=f"anchor script not found (looked at {', '.join(map(str, candidates))})")
    if device.type != "cuda":
        return dict(skipped=f"{path.name} needs CUDA; this run is on {device.type}", script=str(path),
                    device=_device_name(device))
    out, argv = io.StringIO(), sys.argv
    try:
        sys.argv = [str(path), str(batch_size)]
        with contextlib.redirect_stdout(out):
            runpy.run_path(str(path), run_name="__main__")
    finally:
        sys.argv = argv
    return dict(script=str(path), **json.loads(out.getvalue()))


def train_step_table(preset: str = "tiny", batch_size: int = 16, num_frames: int = 12, ocr_words: int = 200,
                     variants: tuple[str, ...] = VARIANTS, steps: int = 10, warmup: int = 3,
                     device: str | None = None, seed: int = 0, precision: str = "auto", **overrides) -> list[dict]:
    """One row per variant: wall-clock seconds of one training step at `batch_size` (median of `steps` timed
    steps after `warmup` untimed ones), videos per second, and peak GPU memory. `precision` as `train.precision`
    (auto: bf16 autocast on CUDA, fp32 on the CPU).

    The step is the study's own (`tcd.train.train_step`: InfoNCE (+ HSC), backward, clipping, AdamW, schedule)
    on `synthetic_batch` inputs with random frames. Text towers run on every string (memo off, as in a first
    epoch), so StarVR pays for encoding its K words per video; with `freeze_text=False` (an override) they are
    fine-tuned too. `overrides` are extra model fields, as in `complexity_table`.
    """
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    train_cfg = TrainConfig()
    peak = matmul_peak(device, repeats=3)
    rows = []
    for variant in variants:
        torch.manual_seed(seed)
        model, shape = build_bench_model(variant, preset, num_frames, ocr_words, **overrides)
        model = model.to(device).train()
        memo_off(model)
        optimizer = make_optimizer(model, train_cfg)
        dtype = autocast_dtype(precision, device)
        scheduler = cosine_with_warmup(optimizer, train_cfg.warmup_steps, warmup + steps)
        batch = synthetic_batch(model, batch_size, shape["num_frames"], ocr_words, device)
        batch["frames"] = torch.randn(batch["frames"].shape, generator=torch.Generator().manual_seed(seed)).to(device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        seconds = []
        for step in range(warmup + steps):
            sync()
            start = time.perf_counter()
            train_step(model, optimizer, scheduler, batch, train_cfg.grad_clip, dtype)
            sync()
            if step >= warmup:
                seconds.append(time.perf_counter() - start)
        step_seconds = statistics.median(seconds)
        flops = count_flops(lambda: train_step(model, optimizer, scheduler, batch, train_cfg.grad_clip, dtype))
        rows.append(dict(
            variant=variant, preset=preset, device=_device_name(device), batch_size=batch_size,
            num_frames=shape["num_frames"], ocr_tokens=shape["ocr_tokens"], freeze_text=getattr(model.cfg, "freeze_text_resolved", model.cfg.freeze_text),
            vision_frozen=bool(getattr(getattr(model, "vision", None), "frozen", False)),
            precision="bf16" if dtype is not None else "fp32", steps=steps,
            encoders=" / ".join(f"{k}: {v}" for k, v in getattr(model, "encoder_info", {}).items()) or "random init",
            step_seconds=round(step_seconds, 4), step_seconds_min=round(min(seconds), 4),
            step_seconds_max=round(max(seconds), 4), videos_per_s=round(batch_size / step_seconds, 1),
            peak_memory_gb=round(torch.cuda.max_memory_allocated(device) / 2**30, 2) if device.type == "cuda" else None,
            warmup=warmup, **_mfu(flops, step_seconds, peak),
        ))
        del model, optimizer, scheduler, batch
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def _mfu(flops: int, seconds: float, peak: dict) -> dict:
    """FLOPs of one timed call, achieved FLOP/s and their fraction of the matmul peak measured in the same run."""
    return dict(flops=flops, achieved_tflops=round(flops / seconds / 1e12, 4),
                peak_tflops=round(peak["flops_per_s"] / 1e12, 4), peak_dtype=peak["dtype"],
                mfu=round(flops / seconds / peak["flops_per_s"], 4))


def score_bench(n: int = 2727, variant: str = "tcd", preset: str = "tiny", num_frames: int = 12,
                device: str | None = None, query_chunk: int = 256, video_chunk: int = 256, seed: int = 0,
                encode_batch: int = 64, repeats: int = 3, warmup: int = 1, precision: str = "fp32",
                peak: dict | None = None) -> dict:
    """Seconds to score ``n`` captions against ``n`` videos as the evaluate stage does (TextVR's test split:
    2,727 x 2,727): the videos encoded once (query-independent state), the captions encoded, then
    `tcd.scoring.score_all_pairs` (median of ``repeats`` after ``warmup``; chunks of 0 = from free memory;
    ``precision`` bf16 on CUDA), each timed apart (random frames and weights: the time does not depend on them;
    the captions are distinct strings, so a frozen text tower runs on each once). FLOPs and MFU of the scoring
    against ``peak`` (`matmul_peak`, measured here when not given)."""
    from tcd.model import VideoState
    from tcd.scoring import score_all_pairs

    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    peak = peak or matmul_peak(device, repeats=3)
    torch.manual_seed(seed)
    model, _ = build_bench_model(variant, preset, num_frames, 1)
    model = model.to(device).eval()
    generator = torch.Generator().manual_seed(seed)
    times, states = {}, []
    with torch.no_grad():
        sync(); start = time.perf_counter()
        for first in range(0, n, encode_batch):
            v = min(encode_batch, n - first)
            batch = synthetic_batch(model, v, num_frames, 1, device)
            batch["frames"] = torch.randn(batch["frames"].shape, generator=generator).to(device)
            states.append(model.encode_videos(batch))
        videos = VideoState.cat(states)
        sync(); times["encode_videos_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        queries = model.encode_queries([f"{QUERY} ({i})" for i in range(n)])
        sync(); times["encode_queries_seconds"] = time.perf_counter() - start
        score = lambda: score_all_pairs(model, queries, videos, query_chunk, video_chunk, precision=precision)
        times["score_seconds"] = statistics.median(timed(score, device, repeats, warmup))
        flops = count_flops(score)
    return dict(variant=variant, preset=preset, device=_device_name(device), n=n, num_frames=num_frames,
                query_chunk=query_chunk, video_chunk=video_chunk, precision=precision, repeats=repeats, warmup=warmup,
                **{k: round(v, 3) for k, v in times.items()},
                pairs_per_s=round(n * n / times["score_seconds"]), **_mfu(flops, times["score_seconds"], peak))


def score_curve(sizes: list[int], device: str | None = None, **kwargs) -> list[dict]:
    """`score_bench` at each size (a scaling curve), against one matmul peak measured first."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    peak = matmul_peak(device, repeats=3)
    return [score_bench(n, device=str(device), peak=peak, **kwargs) for n in sizes]
