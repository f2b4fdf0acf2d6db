"""Figures shared by the notebooks (matplotlib/seaborn); each returns its Figure so notebooks can save it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Polygon

from tcd.corpus.textvr import OcrTrack


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
    """A bar chart of ``y`` per ``x`` (and ``hue``), values written on the bars."""
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * table[x].nunique() * (table[hue].nunique() if hue else 1)), 4))
    sns.barplot(data=table, x=x, y=y, hue=hue, ax=ax, errorbar="sd")
    for container in ax.containers:
        ax.bar_label(container, fmt="%.1f", fontsize=7)
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig
