"""A hit's thumbnail strip: frames around its best window, those inside the window framed in orange."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

HIGHLIGHT = (255, 140, 0)
HEIGHT = 96


def strip_frames(start: float, end: float, fps: float, num_frames: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` native frame indices spread over the window widened by half its length on each side (clipped to
    the video), and which of them fall inside [start, end) seconds."""
    fps = fps or 1.0
    pad = (end - start) / 2
    times = np.linspace(max(0.0, start - pad), min(num_frames / fps, end + pad), n, endpoint=False)
    times += (times[1] - times[0]) / 2 if n > 1 else (end - start) / 2
    frames = np.clip(np.floor(times * fps).astype(np.int64), 0, num_frames - 1)
    return frames, (times >= start) & (times < end)


def thumbnail_strip(video: dict, window: dict, out_dir: Path, n: int = 5) -> Path:
    """Write (once) and return the PNG strip of ``video`` (a manifest record) around ``window``."""
    from PIL import Image, ImageDraw

    from tcd.video import read_frames

    key = hashlib.sha1(f"{video['path']}|{window['start']}|{window['end']}|{n}".encode()).hexdigest()[:16]
    path = Path(out_dir) / f"{key}.png"
    if path.is_file():
        return path
    indices, inside = strip_frames(window["start"], window["end"], video["fps"], video["num_frames"], n)
    tiles = []
    for frame, hit in zip(read_frames(video["path"], indices), inside):
        image = Image.fromarray(frame)
        image = image.resize((max(1, round(image.width * HEIGHT / image.height)), HEIGHT))
        if hit:
            ImageDraw.Draw(image).rectangle([0, 0, image.width - 1, image.height - 1], outline=HIGHLIGHT, width=4)
        tiles.append(image)
    strip = Image.new("RGB", (sum(t.width for t in tiles) + 2 * (len(tiles) - 1), HEIGHT), "white")
    x = 0
    for tile in tiles:
        strip.paste(tile, (x, 0))
        x += tile.width + 2
    path.parent.mkdir(parents=True, exist_ok=True)
    strip.save(path)
    return path


def hits_figure(query: str, hits: list):
    """The paper's Figs. 6-7 for any query: one row per hit, its thumbnail strip (the best window's frames framed),
    the total score and its parts, and the best window's caption with its time span."""
    import matplotlib.pyplot as plt
    from PIL import Image

    fig, axes = plt.subplots(max(1, len(hits)), 1, figsize=(9, 1.6 * max(1, len(hits))), squeeze=False)
    fig.suptitle(f"“{query}”", fontsize=11, x=0.01, ha="left")
    for ax, (n, hit) in zip(axes[:, 0], enumerate(hits, 1)):
        ax.axis("off")
        if hit.thumbnail:
            ax.imshow(Image.open(hit.thumbnail))
        parts = "  ".join(f"{k} {v:.2f}" for k, v in hit.parts.items() if k not in ("string_weight",))
        w = hit.window
        ax.set_title(f"{n}. {hit.id}   total {hit.score:+.2f}   [{parts}]\n"
                     f"window {w['start']:.1f}–{w['end']:.1f} s ({w['matched_by']}): “{w['caption']}”",
                     fontsize=7.5, loc="left")
    fig.tight_layout()
    return fig
