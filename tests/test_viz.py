"""The walkthrough and report figures draw what they should, on small synthetic inputs (hand-made tracks,
random frames, a small model with the frozen all-MiniLM-L6-v2 text tower)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from tcd import viz
from tcd.captioner import window_captions
from tcd.corpus.textvr import OcrTrack
from tcd.model import ModelConfig, build_model
from tcd.model.hsc import hsc_loss

N = 4
SMALL = dict(image_size=32, vision_patch=16, vision_layers=1, vision_width=64, vision_heads=2, num_frames=N,
             embed_dim=64, ctcd_heads=4)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def track(tid: str, text: str, frames, x: float = 10) -> OcrTrack:
    quad = (x, 10, x + 30, 10, x + 30, 20, x, 20)
    return OcrTrack(track_id=tid, text=text, score=0.9, boxes={f: quad for f in frames})


# 32 native frames, 4 windows of 8 frames centred on frames 4, 12, 20, 28; window 2 has no text
TRACKS = [track("a", "TESCO", range(0, 10)), track("b", "express", range(2, 6), x=50), track("c", "Kenny", range(26, 32))]


def gids(fig: plt.Figure, gid: str) -> list:
    return [a for ax in fig.axes for a in [*ax.collections, *ax.patches] if a.get_gid() == gid]


def texts(fig: plt.Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_window_captioner_figure_draws_frames_windows_and_captions():
    frames = np.random.default_rng(0).integers(0, 256, (N, 40, 90, 3), dtype=np.uint8)
    indices = [4, 12, 20, 28]
    captions, mask = window_captions(TRACKS, 32, N, 1.0, max_words=24)
    assert mask.tolist() == [True, True, False, True]
    fig = viz.window_captioner_figure(frames, TRACKS, 32, indices, N, 1.0, captions)
    assert len(fig.axes) == N + 2                       # the frame strip, the time axis, the caption list
    assert len(gids(fig, "window")) == N and len(gids(fig, "track")) == len(TRACKS)
    # OCR boxes: frame 4 shows TESCO and express, frame 12 nothing, frame 28 Kenny
    assert [len(ax.patches) for ax in fig.axes[:N]] == [2, 0, 0, 1]
    lines = [t for t in texts(fig) if t.startswith("w") and "[" in t]
    assert len(lines) == N and lines[0].endswith("TESCO express") and lines[2].endswith("∅ (masked)")


def test_window_sampling_figure_counts_caught_texts_per_xi():
    tracks = [track("a", "near a sampled frame", [4]), track("b", "between sampled frames", range(7, 10))]
    fig = viz.window_sampling_figure(32, N, xis=(0.2, 1.0), tracks=tracks)
    assert len(gids(fig, "window")) == 2 * N and len(gids(fig, "track")) == 2
    assert [t for t in texts(fig) if "caught" in t] == ["1/2 texts caught", "2/2 texts caught"]
    assert len(viz.window_sampling_figure(32, N).axes) == 1


def test_hsc_cycle_is_perfect_for_identical_sequences_and_matches_the_loss():
    feats = torch.eye(N, 8)
    cycle = viz.hsc_cycle(feats, feats, np.ones(N, bool), np.ones(N, bool), temperature=0.01)
    assert cycle["nearest"].tolist() == list(range(N))
    np.testing.assert_allclose(cycle["mu"], np.arange(N), atol=1e-3)
    feats = torch.randn(1, N, 8, generator=torch.Generator().manual_seed(0))
    ocr = torch.randn(1, N, 8, generator=torch.Generator().manual_seed(1))
    fm, om = torch.tensor([[True, True, True, False]]), torch.tensor([[True, False, True, True]])
    cycle = viz.hsc_cycle(feats, ocr, fm, om, temperature=0.5)
    valid = cycle["valid"]
    assert valid.tolist() == [True, True, True, False]
    assert np.isnan(cycle["sim"][3]).all() and np.isnan(cycle["sim"][:, 1]).all()
    assert cycle["loss"] == pytest.approx(float(hsc_loss(feats, ocr, fm, om, 0.5)), rel=1e-5)
    assert cycle["loss"] == pytest.approx(float(np.mean((np.arange(N)[valid] - cycle["mu"][valid]) ** 2)), rel=1e-5)


def test_hsc_figure_marks_one_cycle_per_valid_frame_of_a_models_features():
    torch.manual_seed(0)
    model = build_model(ModelConfig(variant="tcd", **SMALL)).eval()
    frames = torch.randint(0, 256, (1, N, 32, 32, 3), dtype=torch.uint8)
    captions = [["TESCO", "TESCO express", "", "Kenny gold"]]
    batch = dict(frames=model.preprocess_frames(frames), frame_mask=torch.tensor([[True, True, True, False]]),
                 ocr_captions=captions, ocr_mask=torch.tensor([[bool(c) for c in captions[0]]]))
    with torch.no_grad():
        state = model.encode_videos(batch)
    fig = viz.hsc_figure(state, (state["frames"], state["ocr"]), state["frame_mask"], state["ocr_mask"],
                         temperature=0.1)
    for ax in fig.axes[:2]:
        markers = {c.get_gid(): len(c.get_offsets()) for c in ax.collections if c.get_gid()}
        assert markers == {"nearest": 3, "mu": 3}       # padded frame 3 takes no part
    loss = float(hsc_loss(state["frames"], state["ocr"], state["frame_mask"], state["ocr_mask"], 0.1))
    assert f"L_hsc = {loss:.2f}" in fig.axes[0].get_title()


def test_text_condition_and_attention_figures():
    weights = {0.1: np.full(N, 1 / N), 5.0: np.array([0.1, 0.6, 0.3, 0.0])}
    fig = viz.text_condition_figure(weights, weights, ["a", "TESCO", "", "b"], [False, True, False, False], "q")
    assert len(fig.axes) == 2 and len(gids(fig, "highlight")) == 2
    assert [len(c) for c in fig.axes[0].containers] == [N, N]   # one bar per frame and τ
    maps = {"frames → windows": np.random.rand(N, N), "clue → windows": np.random.rand(2, N)}
    fig = viz.attention_maps_figure(maps, {"clue → windows": ("window", "head")})
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == list(maps)
    assert fig.axes[1].get_xlabel() == "window"


def rows(k: int, true_at: int) -> list[dict]:
    frames = np.random.default_rng(0).integers(0, 256, (N, 16, 16, 3), dtype=np.uint8)
    return [{"frames": frames, "sim": 0.34 - 0.01 * i, "parts": {"video": 0.29, "ocr": 0.28, "hybrid": 0.46},
             "video_id": f"Sports/v{i}", "is_true": i == true_at} for i in range(k)]


def test_retrieval_examples_annotate_rank_scores_and_the_true_video():
    fig = viz.retrieval_examples_figure("The gold medalist is Jason Kenny.", rows(5, true_at=1))
    assert len(fig.axes) == 5 and all(ax.images[0].get_array().shape[1] == N * 16 + (N - 1) * 2 for ax in fig.axes)
    assert fig.axes[0].get_title(loc="left") == "#1  Sim 0.34 = mean(Video 0.29, OCR 0.28, Hybrid 0.46)"
    assert fig.axes[1].get_title(loc="right").startswith("✓ true video")
    assert not fig.axes[0].get_title(loc="right").startswith("✓")
    fig = viz.retrieval_examples_pair("q", rows(5, 0), rows(3, 9), names=("TCD", "CLIP4Clip"))
    assert len(fig.axes) == 10 and sum(ax.axison for ax in fig.axes) == 8
    assert {"TCD", "CLIP4Clip"} <= set(texts(fig))


def test_curve_flops_and_domain_figures():
    table = pd.DataFrame([{"xi": xi, "seed": s, "R@1": 40 + 20 * xi + s} for xi in (0.2, 0.6, 1.0) for s in (0, 1)])
    fig = viz.curve_figure(table, "xi", "R@1", paper={0.2: 49.3, 0.6: 56.2, 1.0: 60.4}, title="ξ")
    ax = fig.axes[0]
    assert "2 seeds" in ax.get_title() and len(ax.collections) == 1      # the ± sd band
    assert [line.get_linestyle() for line in ax.lines if line.get_label() == "paper"] == ["--"]
    assert viz.curve_figure(table[table.seed == 0], "xi", "R@1", logx=True).axes[0].get_xscale() == "log"

    flops = pd.DataFrame({"variant": ["clip4clip", "tcd", "tcd"], "gflops": [10.0, 12.0, 12.0], "R@1": [20, 30, 32]})
    ax = viz.r1_vs_flops_figure(flops).axes[0]
    assert ax.get_xscale() == "log" and [t.get_text() for t in ax.get_legend().get_texts()] == ["clip4clip", "tcd"]
    assert [c.lines[0].get_ydata()[0] for c in ax.containers] == [20, 31]   # tcd: the mean of its rows

    domain = lambda v: pd.DataFrame({"group": ["Game", "Sports", "Cooking"], "R@1": [v, v + 5, v + 10]})
    ax = viz.per_domain_bars({"tcd": domain(30), "clip4clip": domain(10)}).axes[0]
    assert [len(c) for c in ax.containers] == [3, 3] and ax.get_legend() is not None


def test_metric_bars_label_every_bar_and_keep_the_legend_off_the_bars():
    table = pd.DataFrame([{"variant": v, "direction": d, "seed": s, "R@1": r + s}
                          for v, r in (("clip4clip", 6.0), ("tcd", 52.0)) for d in ("t2v", "v2t") for s in (0, 2)])
    ax = viz.metric_bars(table, x="variant", y="R@1", hue="direction").axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["53.0", "53.0", "7.0", "7.0"]   # the means, one per bar
    assert ax.get_legend().get_bbox_to_anchor().x0 >= ax.get_window_extent().x1 - 1   # beside the axes
