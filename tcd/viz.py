"""Figures shared by the notebooks (matplotlib/seaborn); each returns its Figure so notebooks can save it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns
import torch
import torch.nn.functional as F
from matplotlib.patches import Patch, Polygon

from tcd.captioner import window_bounds, window_captions, xi_sensitivity
from tcd.corpus.textvr import OcrTrack
from tcd.model.attention import masked_softmax
from tcd.model.hsc import hsc_loss, run_intervals
from tcd.video import segment_centers


def save(fig: plt.Figure, path: str | Path) -> Path:
    """Save a figure as PNG (creating folders), readable at a glance (150 dpi)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, bbox_inches="tight")
    return path


def _ink(color) -> str:
    """Black or white, whichever reads better on ``color`` (its relative luminance)."""
    r, g, b = mcolors.to_rgb(color)
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else "white"


def draw_tracks(ax: plt.Axes, tracks: Sequence[OcrTrack], frame_idx: int, color: str = "lime", label: bool = True) -> None:
    """Outline every track visible at ``frame_idx`` (its quad) on an image axis, with its text on an opaque tag
    of the box colour darkened (black or white ink, whichever reads): coloured text on a photo is illegible on
    half of the backgrounds, and a bright outline stays visible on dark ones."""
    tag = 0.6 * np.asarray(mcolors.to_rgb(color))
    for track in tracks:
        quad = track.boxes.get(frame_idx)
        if quad is None:
            continue
        points = np.asarray(quad[:8], dtype=float).reshape(4, 2)
        ax.add_patch(Polygon(points, closed=True, fill=False, edgecolor=color, linewidth=1.2))
        if label:
            ax.text(points[0, 0], points[0, 1] - 2, track.text, color=_ink(tag), fontsize=7, va="bottom",
                    bbox={"facecolor": tag, "alpha": 0.9, "pad": 0.8, "linewidth": 0}, clip_on=True)


def box_legend(fig: plt.Figure, entries: dict[str, str], **kwargs) -> plt.Legend:
    """A figure legend for box outlines drawn with `draw_tracks`: label -> colour (below the panels unless
    ``kwargs`` place it elsewhere)."""
    handles = [Patch(facecolor="none", edgecolor=color, linewidth=2, label=name) for name, color in entries.items()]
    kwargs = {"loc": "lower center", "bbox_to_anchor": (0.5, 1.0), "ncol": len(handles), "fontsize": 10,
              "frameon": False} | kwargs
    return fig.legend(handles=handles, **kwargs)


def frame_grid(images: Sequence[np.ndarray], titles: Sequence[str], ncols: int = 4, width: float = 3.2) -> tuple[plt.Figure, np.ndarray]:
    """Images in a grid with small titles (each row gets room for its longest, in lines); returns (figure, axes)
    so callers can draw on the axes."""
    nrows = int(np.ceil(len(images) / ncols))
    height = width * images[0].shape[0] / images[0].shape[1]
    lines = max((t.count("\n") + 1 for t in titles), default=1)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, (height + 0.2 + 0.14 * lines) * nrows), squeeze=False)
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


def _run_key(key) -> tuple[str, int]:
    """(variant, seed) from a history key: a (variant, seed) pair, or a name ending in "s<k>" / "seed <k>"
    (the notebooks' older keys, e.g. "tcd s0"); any other name is one run, seed 0."""
    if isinstance(key, tuple):
        return str(key[0]), int(key[1])
    match = re.fullmatch(r"(.*?)\s+(?:s|seed\s*)(\d+)", str(key))
    return (match[1], int(match[2])) if match else (str(key), 0)


def loss_summary(histories: dict, column: str = "loss") -> pd.DataFrame:
    """How each variant's training ended, from its per-step histories (keys as in `training_curves`).

    One row per variant: seeds, epochs, the mean ``column`` over the first, the second-to-last and the last
    epoch (each averaged over the seeds' epoch means), last_change (the last epoch's relative change, %),
    still_falling (the last epoch below the one before it) and falling_seeds (in how many seeds it was).
    A loss still falling at the end says more epochs would likely still lower it."""
    rows = []
    for key, history in histories.items():
        variant, seed = _run_key(key)
        for epoch, value in history.groupby("epoch")[column].mean().items():
            rows.append({"variant": variant, "seed": seed, "epoch": int(epoch), "value": float(value)})
    epochs = pd.DataFrame(rows)
    out = []
    for variant, runs in epochs.groupby("variant", sort=False):
        per_seed = runs.pivot(index="seed", columns="epoch", values="value")
        first, last = per_seed.columns[0], per_seed.columns[-1]
        before = per_seed.columns[-2] if len(per_seed.columns) > 1 else first
        mean = per_seed.mean()
        out.append({"variant": variant, "seeds": len(per_seed), "epochs": len(per_seed.columns),
                    "first_epoch": mean[first], "previous_epoch": mean[before], "last_epoch": mean[last],
                    "last_change": 100 * (mean[last] - mean[before]) / mean[before],
                    "still_falling": bool(mean[last] < mean[before]),
                    "falling_seeds": int((per_seed[last] < per_seed[before]).sum())})
    return pd.DataFrame(out)


def training_curves(histories: dict, column: str = "loss", ylabel: str = "training loss (InfoNCE + λ·L_hsc for TCD)",
                    ncols: int = 3) -> plt.Figure:
    """One panel per variant (shared y), one colour per seed: the per-step ``column`` thin, its epoch means
    as dots joined by a thick line (plotted at the epoch's middle step), epoch boundaries dotted; each panel
    says its first and last epoch means and the last epoch's change (`loss_summary`).

    histories: (variant, seed) -> a run's history (`tcd.train` history.csv: epoch, step, ``column``); a name
    such as "tcd s0" is read as ("tcd", 0)."""
    runs: dict[str, dict[int, pd.DataFrame]] = {}
    for key, history in histories.items():
        variant, seed = _run_key(key)
        runs.setdefault(variant, {})[seed] = history
    seeds = sorted({s for by_seed in runs.values() for s in by_seed})
    colors = dict(zip(seeds, sns.color_palette("colorblind", len(seeds))))
    summary = loss_summary(histories, column).set_index("variant")
    ncols = min(ncols, len(runs))
    nrows = int(np.ceil(len(runs) / ncols))
    width = 3.4 if ncols > 1 else 6.5   # one panel (one variant) gets the width of a normal figure
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, 2.6 * nrows + 0.9), sharex=True, sharey=True,
                             squeeze=False)
    for ax in axes.flat[len(runs):]:
        ax.axis("off")
    for ax, (variant, by_seed) in zip(axes.flat, runs.items()):
        for seed, history in sorted(by_seed.items()):
            ax.plot(history["step"], history[column], color=colors[seed], linewidth=0.6, alpha=0.45)
            epochs = history.groupby("epoch").agg(step=("step", "mean"), value=(column, "mean"))
            ax.plot(epochs.step, epochs.value, color=colors[seed], marker="o", markersize=3, linewidth=1.6,
                    label=f"seed {seed}")
        starts = next(iter(by_seed.values())).groupby("epoch")["step"].min().iloc[1:]
        for step in starts:
            ax.axvline(step - 0.5, color="0.8", linestyle=":", linewidth=0.8, zorder=0)
        row = summary.loc[variant]
        ax.text(0.97, 0.95, f"epoch 1 → {row.epochs}: {row.first_epoch:.2f} → {row.last_epoch:.2f}\n"
                f"last epoch {row.last_change:+.0f} %" + (" (still falling)" if row.still_falling else ""),
                transform=ax.transAxes, ha="right", va="top", fontsize=8,
                bbox={"facecolor": "white", "alpha": 0.8, "linewidth": 0})
        ax.set_title(variant, fontsize=10)
        ax.grid(alpha=0.25)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    for ax in axes[:, 0]:
        ax.set_ylabel("training loss")       # the full ``ylabel`` heads the figure: it does not fit beside a panel
    handles, labels = axes.flat[0].get_legend_handles_labels()
    handles += [plt.Line2D([], [], color="0.4", linewidth=0.6), plt.Line2D([], [], color="0.4", marker="o", markersize=3)]
    labels += ["every step", "epoch mean"]
    fig.suptitle(ylabel + " per variant; dotted: epoch boundaries", fontsize=11)
    fig.tight_layout(rect=(0, 0.4 / fig.get_figheight(), 1, 1))
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=len(labels), fontsize=9,
               frameon=False)
    return fig


def metric_bars(table: pd.DataFrame, x: str, y: str, hue: str | None = None, title: str = "",
                xlabel: str | None = None, ylabel: str | None = None) -> plt.Figure:
    """A bar chart of ``y`` per ``x`` (and ``hue``), values written inside the bars (above them they would
    collide with the sd whiskers), the legend beside the axes (inside, it covers bars). Axis labels default
    to the column names."""
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * table[x].nunique() * (table[hue].nunique() if hue else 1)) + (1.2 if hue else 0), 4))
    sns.barplot(data=table, x=x, y=y, hue=hue, ax=ax, errorbar="sd")
    for container in ax.containers:
        ax.bar_label(container, fmt="%.1f", fontsize=7, label_type="center", color="white", fontweight="bold")
    if hue:
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, title_fontsize=8)
    ax.set_xlabel(xlabel if xlabel is not None else x)
    ax.set_ylabel(ylabel if ylabel is not None else y)
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


# ---- the TCD walkthrough and the study's comparison figures ------------------------------------------------

PART_NAMES = {"video": "Video", "ocr": "OCR", "hybrid": "Hybrid", "fused": "Fused"}


def _window_colors(n: int) -> list:
    return sns.color_palette("tab10" if n <= 10 else "tab20", n)


def texts_caught(tracks: Sequence[OcrTrack], num_frames: int, n_windows: int, xi: float) -> list[bool]:
    """Whether each track lands in some window (the captioner's own membership rule)."""
    return [bool(window_captions([t], num_frames, n_windows, xi, max_words=10**9)[1].any()) for t in tracks]


def _track_bars(ax: plt.Axes, tracks: Sequence[OcrTrack], y0: float, step: float = -1.0, on_bar: bool = True) -> list[float]:
    """One bar per track over its frames, frame f drawn as [f - 0.5, f + 0.5) like the sampled-frame marks at f;
    its text on the bar (``on_bar``; a short bar clips it, so callers with room name tracks elsewhere); returns
    the bar rows."""
    rows = []
    for k, track in enumerate(tracks):
        y = y0 + k * step
        ax.broken_barh([(track.first_frame - 0.5, track.last_frame + 1 - track.first_frame)], (y - 0.3, 0.6),
                       facecolor="0.55", gid="track")
        if on_bar:
            ax.text(track.first_frame + 0.3, y, track.text, va="center", ha="left", fontsize=7, color="white",
                    clip_on=True)
        rows.append(y)
    return rows


def xi_effect(tracks: Sequence[OcrTrack], num_frames: int, n_windows: int,
              xis: Sequence[float] = (0.2, 0.4, 0.6, 0.8, 1.0), max_words: int = 10**9) -> dict:
    """What shrinking the windows does to one video: texts_dropped (summed over ``xis``: tracks no window
    catches) and windows_changed (summed over ``xis``: windows whose caption differs from ξ = 1's). The
    walkthrough picks its ξ example by these, so the figure shows ξ at work rather than a no-op."""
    changed = xi_sensitivity([(tracks, num_frames)], xis, n_windows, max_words).changed_fraction
    dropped = sum(len(tracks) - sum(texts_caught(tracks, num_frames, n_windows, xi)) for xi in xis)
    return {"texts_dropped": dropped, "windows_changed": int(round(float(changed.sum()) * n_windows))}


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
                           tracks: Sequence[OcrTrack] | None = None, title: str = "") -> plt.Figure:
    """Paper Fig. 4: the N windows of each ξ on the native frame axis (one row per ξ; window patches carry
    gid "window"), the sampled frames as dotted lines and, when ``tracks`` are given, their time spans as
    bars (gid "track", named by their text) with how many of them each ξ's windows catch and, per track,
    the ξ values that miss it (the captioner's membership rule)."""
    tracks = list(tracks or [])
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.42 * (len(xis) + len(tracks))))
    colors = _window_colors(n_windows)
    caught = {xi: texts_caught(tracks, num_frames, n_windows, xi) for xi in xis}
    for row, xi in enumerate(xis):
        for i, (start, end) in enumerate(window_bounds(num_frames, n_windows, xi)):
            ax.broken_barh([(start, end - start)], (row - 0.35, 0.7), facecolor=colors[i], alpha=0.6,
                           edgecolor="black", linewidth=0.5, gid="window")
        if tracks:
            k = sum(caught[xi])
            ax.text(num_frames * 1.01, row, f"{k}/{len(tracks)} texts caught", va="center", fontsize=9,
                    color="black" if k == len(tracks) else "tab:red", fontweight="normal" if k == len(tracks) else "bold")
    rows = _track_bars(ax, tracks, y0=-1.0, step=-1.0, on_bar=False)
    for k, y in enumerate(rows):
        missed = [f"{xi:g}" for xi in xis if not caught[xi][k]]
        ax.text(num_frames * 1.01, y, f"missed at ξ = {', '.join(missed)}" if missed else "caught at every ξ",
                va="center", fontsize=8, color="tab:red" if missed else "0.35")
    ax.vlines(segment_centers(num_frames, n_windows), min(rows, default=-0.5) - 0.4, len(xis) - 0.5,
              colors="black", linestyles=":", linewidth=0.8, label="sampled frames")
    ax.set_yticks(list(range(len(xis))) + rows,
                  [f"ξ = {xi:g}" for xi in xis] + [f"“{t.text if len(t.text) <= 22 else t.text[:20].rstrip() + '…'}”" for t in tracks], fontsize=8)
    ax.set_xlim(-0.5, num_frames)
    ax.set_xlabel("native frame index", fontsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 0.0), fontsize=7, frameon=False)
    ax.set_title(title or f"{n_windows} windows, each shrunk to ξΔ about its centre (Δ = {num_frames / n_windows:.2f} frames)",
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
    runs = None if runs is None else _as_tensor(runs).long().reshape(1, -1)
    first, last = (torch.arange(v.shape[1], dtype=v.dtype),) * 2 if runs is None else (x[0] for x in run_intervals(runs))
    return dict(sim=shown.numpy(), alpha=alpha[0].numpy(), nearest=alpha[0].argmax(-1).numpy(), mu=mu[0].numpy(),
                valid=valid.numpy(), run_first=first.numpy(), run_last=last.numpy(),
                loss=float(hsc_loss(v, o, fm, om, temperature, runs)))


def hsc_summary(cycle: dict) -> dict:
    """The reading of one `hsc_cycle`: frames (taking part), the spread of their cosines to the windows
    (cos_min, cos_max), distinct_windows (how many windows are someone's soft-nearest), mu_min / mu_max,
    loss, collapse_loss (the loss had every μ_i landed on the mean valid frame index: (N² − 1)/12 for N
    consecutive frames without caption runs) and collapsed (every μ_i within half a frame of the others:
    the cycle carries no temporal information, whatever its loss)."""
    valid = np.asarray(cycle["valid"], dtype=bool)
    rows = np.flatnonzero(valid)
    if not len(rows):
        return dict(frames=0, cos_min=np.nan, cos_max=np.nan, distinct_windows=0, mu_min=np.nan, mu_max=np.nan,
                    loss=cycle["loss"], collapse_loss=np.nan, collapsed=False)
    mu = np.asarray(cycle["mu"])[rows]
    centre = rows.mean()
    first, last = np.asarray(cycle["run_first"])[rows], np.asarray(cycle["run_last"])[rows]
    collapse = np.mean(np.clip(first - centre, 0, None) ** 2 + np.clip(centre - last, 0, None) ** 2)
    sims = np.asarray(cycle["sim"])[rows]
    return dict(frames=len(rows), cos_min=float(np.nanmin(sims)), cos_max=float(np.nanmax(sims)),
                distinct_windows=len(set(np.asarray(cycle["nearest"])[rows].tolist())),
                mu_min=float(mu.min()), mu_max=float(mu.max()), loss=cycle["loss"], collapse_loss=float(collapse),
                collapsed=bool(mu.max() - mu.min() < 0.5))


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
    the dot: μ_i = i). The titles give hsc_loss and the cosines' range (the colour scale stretches any range,
    so a near-flat map looks contrasted). The third panel plots μ_i against i, with the collapse line: every
    μ_i on the mean frame, the cycle that carries no temporal information (`hsc_summary`).
    """
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), gridspec_kw={"width_ratios": [1, 1, 0.9]})
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
        reading = hsc_summary(cycle)
        ax.set_title(f"{label}: L_hsc = {cycle['loss']:.2f} frames²\n"
                     f"cosines {reading['cos_min']:.3f} … {reading['cos_max']:.3f}", fontsize=10)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=7, frameon=False)
        axes[2].plot(rows, mu, label=label, **style)
    n = cycle["sim"].shape[0]
    axes[2].plot([0, n - 1], [0, n - 1], linestyle="--", color="black", linewidth=0.8, label="perfect cycle")
    if len(rows):
        axes[2].axhline(rows.mean(), linestyle=":", color="tab:red", linewidth=1,
                        label=f"collapse: all μ_i at the middle (L = {reading['collapse_loss']:.2f})")
    axes[2].set_xlabel("start frame i")
    axes[2].set_ylabel("cycle-back frame μ_i")
    axes[2].set_title("frame → nearest window → back to a frame", fontsize=10)
    axes[2].legend(fontsize=7)
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


def pretrain_examples(frames: np.ndarray, descriptions: Sequence[str]) -> plt.Figure:
    """Generated pretraining pairs: each clip's sampled frames as a strip, its description wrapped above it."""
    import textwrap

    fig, _ = frame_grid([_strip(f) for f in frames], [textwrap.fill(d, 60) for d in descriptions], ncols=2, width=4.6)
    return fig


def _digits(values: Sequence[float], least: int = 2, most: int = 4) -> int:
    """The fewest decimals (from ``least`` to ``most``) that keep different ``values`` apart when rounded:
    five scores that all round to 0.25 must not read as a tie."""
    distinct = len({round(float(v), 6) for v in values})
    return next((d for d in range(least, most + 1) if len({round(float(v), d) for v in values}) == distinct), most)


def _score_text(row: dict, rank: int, digits: int = 2) -> str:
    text = f"#{row.get('rank', rank)}  Sim {row['sim']:.{digits}f}"
    parts = row.get("parts") or {}
    if len(parts) > 1:
        text += " = mean(" + ", ".join(f"{PART_NAMES.get(k, k)} {v:.{digits}f}" for k, v in parts.items()) + ")"
    return text


def _retrieval_columns(query: str, columns: dict[str, list[dict]]) -> plt.Figure:
    nrows = max(len(rows) for rows in columns.values())
    first = next(rows for rows in columns.values() if rows)[0]["frames"]
    aspect = first.shape[1] / (len(first) * first.shape[2])
    width = 7.5
    fig, axes = plt.subplots(nrows, len(columns), figsize=(width * len(columns), nrows * (width * aspect + 0.55)),
                             squeeze=False)
    for col, (name, rows) in enumerate(columns.items()):
        digits = _digits([row["sim"] for row in rows])
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
            ax.set_title(_score_text(row, k + 1, digits), loc="left", fontsize=8,
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
    there are several; with as many decimals as it takes to tell the shown Sims apart, 2 to 4), "rank" (default: position + 1), "video_id" and "is_true" (the query's own video,
    framed in green).
    """
    return _retrieval_columns(query, {"": top_videos})


def retrieval_examples_pair(query: str, tcd_rows: list[dict], baseline_rows: list[dict],
                            names: tuple[str, str] = ("TCD", "CLIP4Clip")) -> plt.Figure:
    """Two models' rankings for the same query side by side (rows as in `retrieval_examples_figure`)."""
    return _retrieval_columns(query, {names[0]: tcd_rows, names[1]: baseline_rows})


def _runs_text(table: pd.DataFrame, groups: list[str]) -> str:
    """What was run behind each point: "mean ± sd over 3 seeds", or "one run per point (seed 0)"."""
    seeds = int(table.groupby(groups).size().max())
    if seeds > 1:
        return f"mean ± sd over {seeds} seeds"
    names = sorted(table["seed"].unique()) if "seed" in table else []
    return "one run per point" + (f" (seed {names[0]})" if len(names) == 1 else "")


def curve_figure(table: pd.DataFrame, x: str, y: str, hue: str | None = None, paper=None, logx: bool = False,
                 title: str = "", paper_label: str = "paper", xlabel: str | None = None,
                 ylabel: str | None = None) -> plt.Figure:
    """``y`` against ``x`` (e.g. R@1 against ξ or τ), one line per ``hue``: the mean over the rows sharing an x
    (seeds), with a ± sd band when there are several. ``paper``: {x: value} (or a Series) drawn dashed. The
    title ends with what was run ("mean ± sd over 3 seeds" / "one run per point (seed 0)"); axis labels
    default to the column names."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    groups = [x] + ([hue] if hue else [])
    seeds = int(table.groupby(groups).size().max())
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
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title((title or f"{ylabel or y} vs {xlabel or x}") + f"\nthis study: {_runs_text(table, groups)}",
                 fontsize=10)
    fig.tight_layout()
    return fig


def fusion_curves(curve: pd.DataFrame, title: str = "") -> plt.Figure:
    """T2V R@1 against the fusion weight (0: the model alone, 1: the string match alone), one line per seed, on
    validation (which chose: the chosen weight ringed) and on test (for the record), from
    :func:`tcd.lexical.evaluate_fusion`'s curve."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for ax, split in zip(axes, ("val", "test")):
        part = curve[curve.split == split]
        sns.lineplot(data=part, x="weight", y="R@1", hue="seed", marker="o", palette="deep", ax=ax)
        chosen = part[part.chosen]
        ax.scatter(chosen.weight, chosen["R@1"], s=140, facecolors="none", edgecolors="black", label="chosen on val")
        ax.set_title(("validation: chooses the weight" if split == "val" else "test: shown, not used to choose"),
                     fontsize=10)
        ax.set_xlabel("weight of the string match")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("T2V R@1")
    fig.suptitle(title, fontsize=11)
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


def per_domain_bars(tables: dict[str, pd.DataFrame], metric: str = "R@1", group: str = "group",
                    floors: Sequence[str] | None = None) -> plt.Figure:
    """Per-domain text→video ``metric``: one bar group per domain, one bar per model (name -> its
    `tcd.eval.per_group_metrics` table, or several seeds' rows: bars are means, whiskers sd), and the
    ``floors`` (default: the names starting with "lexical", the study's string-match floors) as reference
    marks across each group (gid "floor"): they are not models, and bars would make them read as ones."""
    floors = [n for n in tables if n.startswith("lexical")] if floors is None else [n for n in floors if n in tables]
    models = [n for n in tables if n not in floors]
    data = pd.concat([tables[n].assign(variant=n) for n in models], ignore_index=True)
    domains = list(dict.fromkeys(pd.concat([t[group] for t in tables.values()])))
    fig, ax = plt.subplots(figsize=(10, 4.6))
    sns.barplot(data=data, x=group, y=metric, hue="variant", order=domains, errorbar="sd", ax=ax,
                palette=sns.color_palette("colorblind", len(models)), err_kws={"linewidth": 1})
    half = 0.8 / 2
    styles = [dict(color="black", linestyle="--"), dict(color="0.35", linestyle=":"), dict(color="tab:red", linestyle="-.")]
    for name, style in zip(floors, styles * 3):
        means = tables[name].groupby(group)[metric].mean()
        for k, domain in enumerate(domains):
            if domain in means:
                ax.hlines(means[domain], k - half, k + half, linewidth=1.6, gid="floor", **style,
                          label=f"{name} (string-match floor)" if k == 0 else None)
    ax.set_xticks(range(len(domains)), [d.replace("_", " ").replace("View ", "View\n") for d in domains], fontsize=9)
    ax.set_xlabel("")
    ax.set_ylabel(f"T2V {metric} (%)")
    ax.set_ylim(0, 103 if "R@" in metric else None)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, fontsize=8, frameon=False)
    fig.suptitle(f"text→video {metric} per domain (each caption ranked against the whole test gallery)", fontsize=11)
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
