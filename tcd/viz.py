"""Figures shared by the notebooks (matplotlib/seaborn); each returns its Figure so notebooks can save it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns
import torch
import torch.nn.functional as F
from matplotlib.patches import Polygon

from tcd.captioner import window_bounds, window_captions
from tcd.corpus.textvr import OcrTrack
from tcd.model.attention import masked_softmax
from tcd.model.hsc import hsc_loss
from tcd.video import segment_centers


def save(fig: plt.Figure, path: str | Path) -> Path:
    """Save a figure as PNG (creating folders), readable at a glance (150 dpi)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, bbox_inches="tight")
    return path


def draw_tracks(ax: plt.Axes, tracks: Sequence[OcrTrack], frame_idx: int, color: str = "lime", label: bool = True) -> None:
    """Outline every track visible at ``frame_idx`` (its quad) on an image axis, with its text."""
    for track in tracks:
        quad = track.boxes.get(frame_idx)
        if quad is None:
            continue
        points = np.asarray(quad[:8], dtype=float).reshape(4, 2)
        ax.add_patch(Polygon(points, closed=True, fill=False, edgecolor=color, linewidth=1.2))
        if label:
            ax.text(points[0, 0], points[0, 1] - 2, track.text, color=color, fontsize=6, va="bottom",
                    bbox={"facecolor": "black", "alpha": 0.5, "pad": 0.5, "linewidth": 0})


def frame_grid(images: Sequence[np.ndarray], titles: Sequence[str], ncols: int = 4, width: float = 3.2) -> tuple[plt.Figure, np.ndarray]:
    """Images in a grid with small titles; returns (figure, axes) so callers can draw on the axes."""
    nrows = int(np.ceil(len(images) / ncols))
    height = width * images[0].shape[0] / images[0].shape[1]
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, (height + 0.4) * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images, titles):
        ax.imshow(image)
        ax.set_title(title, fontsize=7)
    fig.tight_layout()
    return fig, axes


def corpus_overview(card: pd.DataFrame) -> plt.Figure:
    """Videos per domain and split, text instances per video, caption lengths."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    sns.countplot(data=card, y="domain", hue="split", ax=axes[0])
    axes[0].set_title("videos per domain")
    sns.histplot(data=card, x="text_instances", hue="split", discrete=True, multiple="dodge", ax=axes[1])
    axes[1].set_title("ground-truth text instances per video")
    sns.histplot(data=card, x="caption_words", hue="split", bins=20, ax=axes[2])
    axes[2].set_title("words per caption (mean per video)")
    fig.tight_layout()
    return fig


def training_curves(histories: dict[str, pd.DataFrame], column: str = "loss", smooth: int = 10) -> plt.Figure:
    """Per-run training curves (rolling mean over ``smooth`` steps)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, history in histories.items():
        ax.plot(history["step"], history[column].rolling(smooth, min_periods=1).mean(), label=name)
    ax.set_xlabel("step")
    ax.set_ylabel(column)
    ax.legend(fontsize=8)
    ax.set_title(f"training {column} (rolling mean of {smooth} steps)")
    return fig


def metric_bars(table: pd.DataFrame, x: str, y: str, hue: str | None = None, title: str = "") -> plt.Figure:
    """A bar chart of ``y`` per ``x`` (and ``hue``), values written inside the bars (above them they would
    collide with the sd whiskers), the legend beside the axes (inside, it covers bars)."""
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * table[x].nunique() * (table[hue].nunique() if hue else 1)) + (1.2 if hue else 0), 4))
    sns.barplot(data=table, x=x, y=y, hue=hue, ax=ax, errorbar="sd")
    for container in ax.containers:
        ax.bar_label(container, fmt="%.1f", fontsize=7, label_type="center", color="white", fontweight="bold")
    if hue:
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, title_fontsize=8)
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


# ---- the TCD walkthrough and the study's comparison figures ------------------------------------------------

PART_NAMES = {"video": "Video", "ocr": "OCR", "hybrid": "Hybrid", "fused": "Fused"}


def _window_colors(n: int) -> list:
    return sns.color_palette("tab10" if n <= 10 else "tab20", n)


def _texts_caught(tracks: Sequence[OcrTrack], num_frames: int, n_windows: int, xi: float) -> list[bool]:
    """Whether each track lands in some window (the captioner's own membership rule)."""
    return [bool(window_captions([t], num_frames, n_windows, xi, max_words=10**9)[1].any()) for t in tracks]


def _track_bars(ax: plt.Axes, tracks: Sequence[OcrTrack], y0: float, step: float = -1.0) -> list[float]:
    """One bar per track over its frames, frame f drawn as [f - 0.5, f + 0.5) like the sampled-frame marks at f;
    its text on the bar; returns the bar rows."""
    rows = []
    for k, track in enumerate(tracks):
        y = y0 + k * step
        ax.broken_barh([(track.first_frame - 0.5, track.last_frame + 1 - track.first_frame)], (y - 0.3, 0.6),
                       facecolor="0.55", gid="track")
        ax.text(track.first_frame + 0.3, y, track.text, va="center", ha="left", fontsize=7, color="white",
                clip_on=True)
        rows.append(y)
    return rows


def window_captioner_figure(frames: np.ndarray, tracks: Sequence[OcrTrack], num_frames: int,
                            frame_indices: Sequence[int], n_windows: int, xi: float,
                            captions: Sequence[str]) -> plt.Figure:
    """Paper Fig. 3, the window-OCR captioner on one video: the N sampled frames with their OCR boxes, the N
    windows (and the text tracks) on the native frame axis, and the one OCR caption each window yields.

    frames: uint8 [N, H, W, 3] in the tracks' pixel coordinates (native frames, `tcd.video.read_frames` at
    ``frame_indices``); captions: the N window captions (`tcd.captioner.window_captions` with the same
    num_frames, n_windows and xi); an empty window is shown as "∅ (masked)". Frame i and window i share a
    colour. Window patches carry gid "window", track bars gid "track".
    """
    n = len(frames)
    bounds = window_bounds(num_frames, n_windows, xi)
    colors = _window_colors(n_windows)
    aspect = frames[0].shape[0] / frames[0].shape[1]
    width = max(10.0, 1.5 * n)
    frame_h = width / n * aspect + 0.4
    time_h = 0.9 + 0.22 * len(tracks)
    text_h = 0.25 * n_windows + 0.4
    fig = plt.figure(figsize=(width, frame_h + time_h + text_h + 0.6))
    grid = fig.add_gridspec(3, n, height_ratios=[frame_h, time_h, text_h], hspace=0.5)
    for i, (frame, index) in enumerate(zip(frames, frame_indices)):
        ax = fig.add_subplot(grid[0, i])
        ax.imshow(frame)
        draw_tracks(ax, tracks, int(index))
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_edgecolor(colors[i % n_windows])
            spine.set_linewidth(2.5)
        ax.set_title(f"frame {i} (#{int(index)})", fontsize=8)

    ax = fig.add_subplot(grid[1, :])
    for i, (start, end) in enumerate(bounds):
        ax.broken_barh([(start, end - start)], (0.6, 0.8), facecolor=colors[i], alpha=0.45, edgecolor="black",
                       linewidth=0.5, gid="window")
        ax.text((start + end) / 2, 1.0, f"w{i}", ha="center", va="center", fontsize=8)
    ax.vlines(frame_indices, 0.5, 1.5, color="black", linewidth=1, label="sampled frames")
    rows = _track_bars(ax, tracks, y0=-0.2, step=-0.8)
    ax.set_ylim(min(rows, default=0.0) - 0.5, 1.6)
    ax.set_xlim(-0.5, num_frames)
    ax.set_yticks([1.0] + ([np.mean(rows)] if rows else []), ["windows"] + (["text tracks"] if rows else []),
                  fontsize=8)
    ax.set_xlabel("native frame index", fontsize=9)
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    ax.set_title(f"{n_windows} windows of length ξΔ (ξ = {xi:g}, Δ = {num_frames / n_windows:.2f} frames)",
                 fontsize=9, loc="left")

    ax = fig.add_subplot(grid[2, :])
    ax.axis("off")
    for i, ((start, end), caption) in enumerate(zip(bounds, captions)):
        text = f"w{i}  [{start:.1f}, {end:.1f}):  " + (caption if caption else "∅ (masked)")
        ax.text(0.0, 1 - (i + 0.5) / n_windows, text, transform=ax.transAxes, fontsize=8, va="center",
                color=colors[i] if caption else "0.5", fontweight="bold" if caption else "normal")
    ax.set_title("one OCR caption per window", fontsize=9, loc="left")
    fig.suptitle("Window-OCR captioner: all scene text inside a window becomes one caption", fontsize=11)
    return fig


def window_sampling_figure(num_frames: int, n_windows: int, xis: Sequence[float] = (0.2, 0.4, 0.6, 0.8, 1.0),
                           tracks: Sequence[OcrTrack] | None = None) -> plt.Figure:
    """Paper Fig. 4: the N windows of each ξ on the native frame axis (one row per ξ; window patches carry
    gid "window"), the sampled frames as dotted lines and, when ``tracks`` are given, their time spans as
    bars (gid "track") with how many of them each ξ's windows catch (the captioner's membership rule)."""
    tracks = list(tracks or [])
    fig, ax = plt.subplots(figsize=(10, 1.0 + 0.45 * (len(xis) + len(tracks))))
    colors = _window_colors(n_windows)
    for row, xi in enumerate(xis):
        for i, (start, end) in enumerate(window_bounds(num_frames, n_windows, xi)):
            ax.broken_barh([(start, end - start)], (row - 0.35, 0.7), facecolor=colors[i], alpha=0.6,
                           edgecolor="black", linewidth=0.5, gid="window")
        if tracks:
            caught = sum(_texts_caught(tracks, num_frames, n_windows, xi))
            ax.text(num_frames * 1.01, row, f"{caught}/{len(tracks)} texts caught", va="center", fontsize=8)
    rows = _track_bars(ax, tracks, y0=-1.0, step=-1.0)
    ax.vlines(segment_centers(num_frames, n_windows), min(rows, default=-0.5) - 0.4, len(xis) - 0.5,
              colors="black", linestyles=":", linewidth=0.8, label="sampled frames")
    ax.set_yticks(list(range(len(xis))) + rows,
                  [f"ξ = {xi:g}" for xi in xis] + [f"track {t.track_id}" for t in tracks], fontsize=8)
    ax.set_xlim(-0.5, num_frames)
    ax.set_xlabel("native frame index", fontsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 0.0), fontsize=7, frameon=False)
    ax.set_title(f"{n_windows} windows, each shrunk to ξΔ about its centre (Δ = {num_frames / n_windows:.2f} frames)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def _as_tensor(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).detach().float().cpu()


def hsc_cycle(frames, ocr, frame_mask, ocr_mask, temperature: float, runs=None) -> dict[str, np.ndarray]:
    """The soft cycle of `tcd.model.hsc.hsc_loss` for one video, piece by piece.

    frames [N, D] or [1, N, D], ocr [M, D] or [1, M, D], masks bool [N] / [M] (or with the leading 1).
    Returns sim [N, M] (cosines; NaN at padded frames and empty windows), alpha [N, M], nearest [N] (argmax of
    α: the soft-nearest window), mu [N] (the expected cycle-back frame index), valid [N] (frames taking part)
    and loss (hsc_loss's value; with ``runs`` [N], the windows' caption-run ids, a cycle landing anywhere in
    its window's run costs nothing, as in training).
    """
    v, o = _as_tensor(frames), _as_tensor(ocr)
    v, o = v.reshape(1, -1, v.shape[-1]), o.reshape(1, -1, o.shape[-1])
    fm = torch.as_tensor(np.asarray(frame_mask, dtype=bool)).reshape(1, -1)
    om = torch.as_tensor(np.asarray(ocr_mask, dtype=bool)).reshape(1, -1)
    vn, on = F.normalize(v, dim=-1), F.normalize(o, dim=-1)
    sim = vn @ on.transpose(1, 2)
    alpha = masked_softmax(sim / temperature, om[:, None, :])
    beta = masked_softmax((alpha @ on) @ vn.transpose(1, 2) / temperature, fm[:, None, :])
    mu = beta @ torch.arange(v.shape[1], dtype=v.dtype)
    valid = (fm & om.any(-1, keepdim=True))[0]
    shown = sim[0].clone()
    shown[~fm[0]] = float("nan")
    shown[:, ~om[0]] = float("nan")
    return dict(sim=shown.numpy(), alpha=alpha[0].numpy(), nearest=alpha[0].argmax(-1).numpy(), mu=mu[0].numpy(),
                valid=valid.numpy(), loss=float(hsc_loss(v, o, fm, om, temperature,
                                                          None if runs is None else _as_tensor(runs).long().reshape(1, -1))))


def _features(state, frame_mask, ocr_mask):
    """(frames, ocr, frame_mask, ocr_mask, caption runs or None) from a VideoState / dict (masks read from it when not given) or a
    (frames, ocr) pair."""
    if isinstance(state, (tuple, list)):
        frames, ocr = state
        n, m = _as_tensor(frames).shape[-2], _as_tensor(ocr).shape[-2]
        return frames, ocr, np.ones(n, bool) if frame_mask is None else frame_mask, \
            np.ones(m, bool) if ocr_mask is None else ocr_mask, None
    frame_mask = state["frame_mask"] if frame_mask is None else frame_mask
    ocr_mask = state["ocr_mask"] if ocr_mask is None else ocr_mask
    runs = state["ocr_run"] if "ocr_run" in state else None
    return state["frames"], state["ocr"], _as_tensor(frame_mask).bool(), _as_tensor(ocr_mask).bool(), runs


def hsc_figure(before, after, frame_mask=None, ocr_mask=None, temperature: float = 0.01,
               labels: tuple[str, str] = ("before training", "after training")) -> plt.Figure:
    """Paper Fig. 5, HSC's soft cycle on one video before and after training.

    ``before`` and ``after``: one video's features, either a model's `encode_videos` output (a VideoState or
    dict with "frames" [1, N, D], "ocr" [1, N, D] and, unless given here, "frame_mask" / "ocr_mask") or a
    (frames, ocr) pair. Each heatmap is the frame × OCR-window cosine similarity (grey: padded frames, empty
    windows); for each frame i taking part, a white dot marks its soft-nearest window j = argmax α_i and a
    red cross the frame the cycle comes back to, μ_i, at the same window (a perfect cycle puts the cross on
    the dot: μ_i = i). The titles give hsc_loss. The third panel plots μ_i against i.
    """
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), gridspec_kw={"width_ratios": [1, 1, 0.9]})
    styles = (dict(color="tab:gray", marker="s", linestyle="--"), dict(color="tab:blue", marker="o"))
    for ax, state, label, style in zip(axes[:2], (before, after), labels, styles):
        frames, ocr, fm, om, runs = _features(state, frame_mask, ocr_mask)
        cycle = hsc_cycle(frames, ocr, fm, om, temperature, runs)
        image = ax.imshow(cycle["sim"], cmap=plt.get_cmap("viridis").with_extremes(bad="0.85"), aspect="auto")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03, label="cosine")
        rows = np.flatnonzero(cycle["valid"])
        cols, mu = cycle["nearest"][rows], cycle["mu"][rows]
        for i, j, m in zip(rows, cols, mu):
            ax.plot([j, j], [i, m], color="red", linewidth=1)
        ax.scatter(cols, rows, s=40, facecolor="white", edgecolor="black", zorder=3, label="soft-nearest window",
                   gid="nearest")
        ax.scatter(cols, mu, s=40, marker="x", color="red", zorder=4, label="cycle-back μ_i", gid="mu")
        ax.set_xlabel("OCR window j")
        ax.set_ylabel("frame i")
        ax.set_xticks(range(cycle["sim"].shape[1]))
        ax.set_yticks(range(cycle["sim"].shape[0]))
        ax.set_title(f"{label}: L_hsc = {cycle['loss']:.2f} frames²", fontsize=10)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=7, frameon=False)
        axes[2].plot(rows, mu, label=label, **style)
    n = cycle["sim"].shape[0]
    axes[2].plot([0, n - 1], [0, n - 1], linestyle="--", color="black", linewidth=0.8, label="perfect cycle")
    axes[2].set_xlabel("start frame i")
    axes[2].set_ylabel("cycle-back frame μ_i")
    axes[2].set_title("frame → nearest window → back to a frame", fontsize=10)
    axes[2].legend(fontsize=8)
    fig.suptitle(f"HSC: soft temporal cycle between frames and OCR windows (t = {temperature:g})", fontsize=11)
    fig.tight_layout()
    return fig


def text_condition_figure(frame_weights: dict[float, np.ndarray], window_weights: dict[float, np.ndarray],
                          captions: Sequence[str] | None = None, highlight: Sequence[bool] | None = None,
                          query: str = "") -> plt.Figure:
    """Text-condition weights w_i = softmax_i(τ·cos(t, x_i)) over the frames (left) and the OCR windows (right),
    one bar group per τ (dicts τ -> weights [N]; masked positions 0). ``highlight`` [N] shades positions,
    e.g. the windows whose caption holds text the query quotes (and their frames); window tick labels are
    the window ``captions`` when given. A uniform weighting (1 / #valid) is drawn dashed."""
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.2))
    for ax, weights, what in zip(axes, (frame_weights, window_weights), ("frame", "OCR window")):
        table = pd.DataFrame([{"index": i, "τ": f"{tau:g}", "weight": float(w)}
                              for tau, ws in weights.items() for i, w in enumerate(np.asarray(ws))])
        sns.barplot(data=table, x="index", y="weight", hue="τ", ax=ax, palette="crest")
        n = table["index"].nunique()
        for i in np.flatnonzero(np.asarray(highlight, dtype=bool)) if highlight is not None else []:
            ax.axvspan(i - 0.5, i + 0.5, color="gold", alpha=0.25, zorder=0, gid="highlight")
        valid = int((np.asarray(next(iter(weights.values()))) > 0).sum())
        if valid:
            ax.axhline(1 / valid, linestyle="--", color="black", linewidth=0.8)
        ax.set_xlabel(what)
        ax.set_ylabel("weight w_i")
        ax.set_title(f"weights over {what}s", fontsize=10, loc="left")
        ax.legend(title="τ", fontsize=7, title_fontsize=8, ncol=len(weights), loc="lower right",
                  bbox_to_anchor=(1.0, 1.0), frameon=False)
        if what == "OCR window" and captions is not None:
            ax.set_xticks(range(n), [f"w{i}: {c[:18] or '∅'}" for i, c in enumerate(captions)],
                          rotation=35, ha="right", fontsize=7)
    title = "Text-condition: how the query re-weights frames and OCR windows"
    fig.suptitle(title + (f"\nquery: “{query}”" if query else ""), fontsize=11)
    fig.tight_layout()
    return fig


def attention_maps_figure(maps: dict[str, np.ndarray], axis_labels: dict[str, tuple[str, str]] | None = None,
                          ncols: int = 2) -> plt.Figure:
    """Heatmaps of attention weights, one panel per map (2-D, rows = attending tokens, columns = attended
    tokens; NaN shown grey); ``axis_labels``: title -> (x label, y label). Values are written in the cells
    when a map is at most 12 × 12."""
    nrows = int(np.ceil(len(maps) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.2 * ncols, 4.2 * nrows), squeeze=False)
    for ax in axes.flat[len(maps):]:
        ax.axis("off")
    for ax, (title, weights) in zip(axes.flat, maps.items()):
        weights = np.asarray(weights, dtype=float)
        annotate = max(weights.shape) <= 12
        sns.heatmap(weights, ax=ax, cmap="magma", vmin=0, annot=annotate, fmt=".2f",
                    annot_kws={"fontsize": 6}, cbar_kws={"label": "weight"}, mask=np.isnan(weights))
        ax.set_facecolor("0.85")
        xlabel, ylabel = (axis_labels or {}).get(title, ("", ""))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _strip(frames: np.ndarray, gap: int = 2) -> np.ndarray:
    """uint8 [N, S, S, 3] -> one image [S, N*S + gaps, 3] with white gaps."""
    frames = np.asarray(frames)
    white = np.full((frames.shape[1], gap, 3), 255, dtype=np.uint8)
    return np.concatenate([x for f in frames for x in (f, white)][:-1], axis=1)


def _score_text(row: dict, rank: int) -> str:
    text = f"#{row.get('rank', rank)}  Sim {row['sim']:.2f}"
    parts = row.get("parts") or {}
    if len(parts) > 1:
        text += " = mean(" + ", ".join(f"{PART_NAMES.get(k, k)} {v:.2f}" for k, v in parts.items()) + ")"
    return text


def _retrieval_columns(query: str, columns: dict[str, list[dict]]) -> plt.Figure:
    nrows = max(len(rows) for rows in columns.values())
    first = next(rows for rows in columns.values() if rows)[0]["frames"]
    aspect = first.shape[1] / (len(first) * first.shape[2])
    width = 7.5
    fig, axes = plt.subplots(nrows, len(columns), figsize=(width * len(columns), nrows * (width * aspect + 0.55)),
                             squeeze=False)
    for col, (name, rows) in enumerate(columns.items()):
        for k, ax in enumerate(axes[:, col]):
            if k >= len(rows):
                ax.axis("off")
                continue
            row = rows[k]
            ax.imshow(_strip(row["frames"]))
            ax.set_xticks([])
            ax.set_yticks([])
            true = bool(row.get("is_true"))
            for spine in ax.spines.values():
                spine.set_edgecolor("tab:green" if true else "0.6")
                spine.set_linewidth(3 if true else 0.8)
            ax.set_title(_score_text(row, k + 1), loc="left", fontsize=8,
                         color="tab:green" if true else "black", fontweight="bold" if true else "normal")
            ax.set_title(("✓ true video  " if true else "") + str(row.get("video_id", "")), loc="right",
                         fontsize=7, color="tab:green" if true else "0.35")
        if name:
            axes[0, col].annotate(name, xy=(0.5, 1.0), xytext=(0, 22), textcoords="offset points",
                                  xycoords="axes fraction", ha="center", fontsize=11, fontweight="bold")
    fig.suptitle(f"query: “{query}”", fontsize=11)
    fig.tight_layout()
    return fig


def retrieval_examples_figure(query: str, top_videos: list[dict]) -> plt.Figure:
    """Paper Figs. 6-7: one query and its top-ranked videos, one row of frames each.

    top_videos: best first, dicts with "frames" (uint8 [N, S, S, 3], e.g. from the frame cache), "sim"
    (float), optional "parts" ({"video": S_TV, "ocr": S_TO, "hybrid": S_TH}; written as Sim = mean(...) when
    there are several), "rank" (default: position + 1), "video_id" and "is_true" (the query's own video,
    framed in green).
    """
    return _retrieval_columns(query, {"": top_videos})


def retrieval_examples_pair(query: str, tcd_rows: list[dict], baseline_rows: list[dict],
                            names: tuple[str, str] = ("TCD", "CLIP4Clip")) -> plt.Figure:
    """Two models' rankings for the same query side by side (rows as in `retrieval_examples_figure`)."""
    return _retrieval_columns(query, {names[0]: tcd_rows, names[1]: baseline_rows})


def curve_figure(table: pd.DataFrame, x: str, y: str, hue: str | None = None, paper=None, logx: bool = False,
                 title: str = "", paper_label: str = "paper") -> plt.Figure:
    """``y`` against ``x`` (e.g. R@1 against ξ or τ), one line per ``hue``: the mean over the rows sharing an x
    (seeds), with a ± sd band when there are several. ``paper``: {x: value} (or a Series) drawn dashed."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    seeds = int(table.groupby([x] + ([hue] if hue else [])).size().max())
    sns.lineplot(data=table, x=x, y=y, hue=hue, marker="o", errorbar="sd" if seeds > 1 else None, ax=ax,
                 **({} if hue else {"label": "this study"}))
    if paper is not None:
        paper = pd.Series(paper).sort_index()
        ax.plot(paper.index, paper.values, linestyle="--", marker="s", color="black", label=paper_label)
    if logx:
        ax.set_xscale("log")
    values = sorted(set(table[x].tolist()) | (set(paper.index.tolist()) if paper is not None else set()))
    ax.set_xticks(values, [f"{v:g}" for v in values])
    ax.minorticks_off()
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend(fontsize=8)
    suffix = f" (mean ± sd over {seeds} seeds)" if seeds > 1 else ""
    ax.set_title((title or f"{y} vs {x}") + suffix, fontsize=10)
    fig.tight_layout()
    return fig


def r1_vs_flops_figure(table: pd.DataFrame, x: str = "gflops", y: str = "R@1", label: str = "variant",
                       xlabel: str | None = None, ylabel: str | None = None) -> plt.Figure:
    """R@1 against forward GFLOPs (log x), one point per ``label`` (mean over its rows, with sd bars when it
    has several, e.g. seeds), named in the legend: variants of equal cost sit on top of each other, so
    labels beside the points would overlap."""
    stats = table.groupby(label, sort=False).agg(x=(x, "mean"), y=(y, "mean"), sd=(y, "std")).reset_index()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    markers = "osD^vP*X"
    for i, (color, row) in enumerate(zip(sns.color_palette("tab10", len(stats)), stats.itertuples())):
        ax.errorbar(row.x, row.y, yerr=0 if np.isnan(row.sd) else row.sd, fmt=markers[i % len(markers)],
                    color=color, capsize=3, markersize=7, label=getattr(row, label))
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(mticker.LogLocator(subs=(1.0, 2.0, 5.0)))   # 10, 20, 50, 100, ...: plain numbers
    ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(mticker.NullFormatter())
    ax.set_xlabel(xlabel or f"{x} (log scale)")
    ax.set_ylabel(ylabel or y)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="best")
    ax.set_title(f"{ylabel or y} vs compute, one point per {label}", fontsize=10)
    fig.tight_layout()
    return fig


def per_domain_bars(tables: dict[str, pd.DataFrame], metric: str = "R@1", group: str = "group") -> plt.Figure:
    """Per-domain text→video ``metric`` bars for several variants (name -> `tcd.eval.per_group_metrics`
    table, or several seeds' rows: bars are means, whiskers sd)."""
    data = pd.concat([t.assign(variant=name) for name, t in tables.items()], ignore_index=True)
    fig, ax = plt.subplots(figsize=(max(7, 0.5 * data[group].nunique() * len(tables) + 2), 4.2))
    sns.barplot(data=data, x=group, y=metric, hue="variant", errorbar="sd", ax=ax)
    ax.set_xlabel("domain")
    ax.set_ylabel(f"T2V {metric}")
    ax.tick_params(axis="x", rotation=30)
    ax.legend(fontsize=8, title="variant", title_fontsize=8)
    ax.set_title(f"text→video {metric} per domain (each caption ranked against the whole gallery)", fontsize=10)
    fig.tight_layout()
    return fig


def xi_captions_figure(tables: dict[str, pd.DataFrame]) -> plt.Figure:
    """What the window scale ξ does to the captions, per OCR source (`tcd.captioner.xi_sensitivity` tables):
    left, the share of windows whose caption differs from ξ = 1.0; right, words per caption."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, table in tables.items():
        axes[0].plot(table.xi, 100 * table.changed_fraction, marker="o", label=name)
        axes[1].plot(table.xi, table.words_per_caption, marker="o", label=name)
    axes[0].set_ylabel("windows whose caption changes (%)")
    axes[1].set_ylabel("words per window caption")
    for ax in axes:
        ax.set_xlabel("window scale ξ")
        ax.set_xticks(sorted({float(x) for t in tables.values() for x in t.xi}))
        ax.legend(title="OCR tracks", fontsize=8)
    fig.suptitle("What shrinking the windows (ξ) changes in the captions", fontsize=11)
    fig.tight_layout()
    return fig
