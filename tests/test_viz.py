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
    assert [t for t in texts(fig) if "texts caught" in t] == ["1/2 texts caught", "2/2 texts caught"]
    assert [t for t in texts(fig) if "ξ" in t] == ["caught at every ξ", "missed at ξ = 0.2"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][2:] == ["“near a sampled frame”", "“between sampled frames”"]
    assert len(viz.window_sampling_figure(32, N).axes) == 1


def test_xi_effect_counts_dropped_texts_and_changed_windows():
    # ξ = 0.2 keeps frame 4 in window 0 and frame 12 in window 1: the text at 7-9 drops out, and both windows'
    # captions change (window 0 loses it, window 1 had only it); windows 2 and 3 are empty at every ξ
    tracks = [track("a", "near a sampled frame", [4]), track("b", "between sampled frames", range(7, 10))]
    assert viz.xi_effect(tracks, 32, N, (0.2, 1.0)) == {"texts_dropped": 1, "windows_changed": 2}
    assert viz.xi_effect(tracks, 32, N, (1.0,)) == {"texts_dropped": 0, "windows_changed": 0}
    assert viz.texts_caught(tracks, 32, N, 0.2) == [True, False]


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


def test_hsc_summary_tells_a_collapsed_cycle_from_a_perfect_one():
    perfect = viz.hsc_summary(viz.hsc_cycle(torch.eye(N, 8), torch.eye(N, 8), np.ones(N, bool), np.ones(N, bool), 0.01))
    assert (perfect["distinct_windows"], perfect["collapsed"]) == (N, False)
    assert perfect["mu_max"] - perfect["mu_min"] == pytest.approx(N - 1, abs=1e-3)
    assert perfect["collapse_loss"] == pytest.approx((N ** 2 - 1) / 12)          # 1.25 for 4 frames
    # identical frames and windows: α and β are uniform, every cycle comes back to the middle frame 1.5
    same = torch.ones(N, 8)
    flat = viz.hsc_summary(viz.hsc_cycle(same, same, np.ones(N, bool), np.ones(N, bool), 0.01))
    assert flat["collapsed"] and flat["mu_min"] == pytest.approx(1.5) and flat["mu_max"] == pytest.approx(1.5)
    assert flat["loss"] == pytest.approx(1.25) and flat["collapse_loss"] == pytest.approx(1.25)
    assert flat["cos_min"] == pytest.approx(1.0) and flat["distinct_windows"] == 1
    # windows 0 and 1 one caption run: frames 0, 1 may come back anywhere in [0, 1], so from 1.5 each costs
    # 0.5², frame 2 0.5², frame 3 1.5²: (0.25 + 0.25 + 0.25 + 2.25) / 4 = 0.75
    runs = viz.hsc_summary(viz.hsc_cycle(same, same, np.ones(N, bool), np.ones(N, bool), 0.01, runs=[0, 0, 1, 2]))
    assert runs["collapse_loss"] == pytest.approx(0.75) and runs["loss"] == pytest.approx(0.75)


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
    assert f"L_hsc = {loss:.2f}" in fig.axes[0].get_title() and "cosines" in fig.axes[0].get_title()
    assert any(line.get_label().startswith("collapse: all μ_i at the middle") for line in fig.axes[2].lines)


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
    close = [dict(r, sim=sim) for r, sim in zip(rows(3, true_at=0), (0.2534, 0.2518, 0.2504))]   # all "0.25"
    assert viz.retrieval_examples_figure("q", close).axes[1].get_title(loc="left").startswith("#2  Sim 0.252 = mean(Video 0.290")
    assert [viz._digits(v) for v in ([0.34, 0.33], [0.2534, 0.2518], [0.2512, 0.2508], [0.3, 0.3])] == [2, 3, 4, 2]
    fig = viz.retrieval_examples_pair("q", rows(5, 0), rows(3, 9), names=("TCD", "CLIP4Clip"))
    assert len(fig.axes) == 10 and sum(ax.axison for ax in fig.axes) == 8
    assert {"TCD", "CLIP4Clip"} <= set(texts(fig))


def test_curve_flops_and_domain_figures():
    table = pd.DataFrame([{"xi": xi, "seed": s, "R@1": 40 + 20 * xi + s} for xi in (0.2, 0.6, 1.0) for s in (0, 1)])
    fig = viz.curve_figure(table, "xi", "R@1", paper={0.2: 49.3, 0.6: 56.2, 1.0: 60.4}, title="ξ")
    ax = fig.axes[0]
    assert "2 seeds" in ax.get_title() and len(ax.collections) == 1      # the ± sd band
    assert [line.get_linestyle() for line in ax.lines if line.get_label() == "paper"] == ["--"]
    ax = viz.curve_figure(table[table.seed == 0], "xi", "R@1", logx=True, xlabel="window scale ξ",
                          ylabel="T2V R@1 (%)").axes[0]
    assert ax.get_xscale() == "log" and (ax.get_xlabel(), ax.get_ylabel()) == ("window scale ξ", "T2V R@1 (%)")
    assert ax.get_title().endswith("one run per point (seed 0)") and "sd" not in ax.get_title()

    flops = pd.DataFrame({"variant": ["clip4clip", "tcd", "tcd"], "gflops": [10.0, 12.0, 12.0], "R@1": [20, 30, 32]})
    ax = viz.r1_vs_flops_figure(flops).axes[0]
    assert ax.get_xscale() == "log" and [t.get_text() for t in ax.get_legend().get_texts()] == ["clip4clip", "tcd"]
    assert [c.lines[0].get_ydata()[0] for c in ax.containers] == [20, 31]   # tcd: the mean of its rows



def test_per_domain_bars_fit_the_report_and_draw_floors_as_reference_marks():
    domain = lambda v: pd.DataFrame({"group": ["Game", "Sports", "Street_View_Indoor"], "R@1": [v, v + 5, v + 10]})
    tables = {"tcd": domain(30), "clip4clip": domain(10), "lexical": domain(50), "lexical_gt": domain(60)}
    fig = viz.per_domain_bars(tables)
    ax = fig.axes[0]
    assert fig.get_size_inches()[0] * 150 == 1500                     # 1500 px at save()'s 150 dpi, any number of variants
    assert [len(c) for c in ax.containers] == [3, 3]                  # bars: the two models, one per domain
    floors = [c for c in ax.collections if c.get_gid() == "floor"]
    assert len(floors) == 6 and floors[0].get_segments()[0][0].tolist() == [-0.4, 50.0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "tcd", "clip4clip", "lexical (string-match floor)", "lexical_gt (string-match floor)"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Game", "Sports", "Street View\nIndoor"]
    assert ax.get_ylabel() == "T2V R@1 (%)"
    explicit = viz.per_domain_bars(tables, floors=["lexical_gt"]).axes[0]   # lexical now drawn as a model
    assert [len(c) for c in explicit.containers] == [3, 3, 3]


def history(losses: list[float]) -> pd.DataFrame:
    """Two steps per epoch."""
    return pd.DataFrame({"epoch": [i // 2 for i in range(len(losses))], "step": range(len(losses)), "loss": losses})


def test_training_curves_one_panel_per_variant_one_colour_per_seed():
    runs = {("tcd", 0): history([4, 3, 3, 2]), ("tcd", 1): history([4, 3, 3, 2]), "clip4clip s0": history([1, 1, 1, 2])}
    fig = viz.training_curves(runs)
    panels = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title() for ax in panels] == ["tcd", "clip4clip"]
    assert [line.get_label() for line in panels[0].lines if not line.get_label().startswith("_")] == ["seed 0", "seed 1"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["seed 0", "seed 1", "every step", "epoch mean"]
    # epoch means 3.5 -> 2.5 (-29 %); clip4clip 1.0 -> 1.5 (+50 %)
    assert panels[0].texts[0].get_text() == "epoch 1 → 2: 3.50 → 2.50\nlast epoch -29 % (still falling)"
    assert panels[1].texts[0].get_text() == "epoch 1 → 2: 1.00 → 1.50\nlast epoch +50 %"
    assert fig.get_suptitle().startswith("training loss (InfoNCE + λ·L_hsc for TCD) per variant")
    assert (panels[0].get_ylabel(), panels[0].get_xlabel()) == ("training loss", "step")


def test_loss_summary_says_whether_the_last_epoch_still_fell():
    runs = {"tcd seed 0": history([4, 3, 3, 2, 2, 2]), "tcd seed 1": history([4, 4, 2, 2, 2.2, 2.2])}
    row = viz.loss_summary(runs).iloc[0]
    # epoch means: seed 0 3.5, 2.5, 2.0; seed 1 4.0, 2.0, 2.2 -> mean 3.75, 2.25, 2.1: fell 6.7 %, in seed 0 only
    assert (row.variant, row.seeds, row.epochs) == ("tcd", 2, 3)
    assert (row.first_epoch, row.previous_epoch, row.last_epoch) == pytest.approx((3.75, 2.25, 2.1))
    assert row.last_change == pytest.approx(-100 * 0.15 / 2.25) and row.still_falling and row.falling_seeds == 1
    assert [viz._run_key(k) for k in ("tcd s0", "tcd seed 2", ("x", 1), "clip4clip_wocr")] == [
        ("tcd", 0), ("tcd", 2), ("x", 1), ("clip4clip_wocr", 0)]


def test_draw_tracks_labels_on_a_dark_tag_and_box_legend_names_the_colours():
    fig, ax = plt.subplots()
    ax.imshow(np.zeros((40, 90, 3), dtype=np.uint8))
    viz.draw_tracks(ax, TRACKS, 4, color="magenta")
    assert [t.get_text() for t in ax.texts] == ["TESCO", "express"] and len(ax.patches) == 2
    tag = ax.texts[0].get_bbox_patch()
    assert tuple(tag.get_facecolor()[:3]) == pytest.approx((0.6, 0.0, 0.6)) and ax.texts[0].get_color() == "white"
    viz.draw_tracks(ax, TRACKS, 4, color="yellow")                    # a light tag gets black ink
    assert ax.texts[-1].get_color() == "black"
    legend = viz.box_legend(fig, {"ground truth": "lime", "EasyOCR": "magenta"})
    assert [t.get_text() for t in legend.get_texts()] == ["ground truth", "EasyOCR"]
    assert [h.get_edgecolor()[:3] for h in legend.legend_handles] == [(0.0, 1.0, 0.0), (1.0, 0.0, 1.0)]


def test_metric_bars_label_every_bar_and_keep_the_legend_off_the_bars():
    table = pd.DataFrame([{"variant": v, "direction": d, "seed": s, "R@1": r + s}
                          for v, r in (("clip4clip", 6.0), ("tcd", 52.0)) for d in ("t2v", "v2t") for s in (0, 2)])
    ax = viz.metric_bars(table, x="variant", y="R@1", hue="direction").axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["53.0", "53.0", "7.0", "7.0"]   # the means, one per bar
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("variant", "R@1")
    labelled = viz.metric_bars(table, x="variant", y="R@1", hue="direction", xlabel="", ylabel="R@1 (%)").axes[0]
    assert (labelled.get_xlabel(), labelled.get_ylabel()) == ("", "R@1 (%)")
    assert ax.get_legend().get_bbox_to_anchor().x0 >= ax.get_window_extent().x1 - 1   # beside the axes
