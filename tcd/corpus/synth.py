"""SynthTextVR: a scene-text video retrieval corpus generated deterministically from a seed, in TextVR's exact
on-disk layout and schema (see tcd.corpus.textvr), so that real TextVR drops in with no code change.

Each video shows a domain-specific background (eight TextVR domains), groups of coloured shapes that move in a
direction (the visual content captions can describe), and scene-text instances (shop signs, plates,
scoreboards, subtitles, ...) each with its own time span, position, motion, font, size, colour, perspective
and blur, plus distractor text no caption mentions. Ground-truth text tracks are written as Kwai OCR files.

Hard negatives are built in: "same-scene" groups share background, objects and noise and differ only in their
scene text (their captions always quote text), and "same-text" groups share a quoted string but differ
visually (their captions always describe the visuals). Distractors sometimes repeat words quoted for other
videos, so exact string matching alone does not solve the benchmark.

Same seed + same package versions -> identical bytes for every file (SYNTH_CARD.json records the versions).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import av
import matplotlib
import numpy as np
import PIL
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tcd.corpus.textvr import OcrTrack, VideoEntry, write_annotations, write_ocr_file
from tcd.config import CARD_NAME, SynthConfig  # the `corpus:` section of params.yaml
from tcd.video import write_video


GENERATOR = "SynthTextVR"
DOMAINS = ("Street_View_Indoor", "Street_View_Outdoor", "Games", "Sports", "Driving", "Activity",
           "News_Movie", "Cooking")
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
              "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSerif-Italic.ttf")

# ---------------------------------------------------------------------------------------------------------
# Visual vocabulary. Scene text never uses these words, so no text is inferable from what is drawn.
COLOURS = {"red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 80, 230), "yellow": (245, 215, 40),
           "orange": (250, 140, 20), "purple": (150, 60, 200), "white": (250, 250, 250), "black": (15, 15, 15)}
SHAPES = ("circle", "square", "triangle", "diamond", "star")
DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
DIRECTION_WORDS = {"left": "to the left", "right": "to the right", "up": "upward", "down": "downward"}
COUNT_WORDS = {1: "a", 2: "two", 3: "three"}
SCENE_PHRASES = {
    "Street_View_Indoor": ("in a store", "inside a shopping mall"),
    "Street_View_Outdoor": ("on a busy street", "in front of the buildings"),
    "Games": ("in a video game", "on the game screen"),
    "Sports": ("on the sports field", "during the match"),
    "Driving": ("on the road", "in traffic"),
    "Activity": ("at an outdoor event", "in the park"),
    "News_Movie": ("in the news studio", "on the TV show"),
    "Cooking": ("in the kitchen", "on the kitchen counter"),
}
BLOCKED = ({w.upper() for w in COLOURS} | {w.upper() for w in SHAPES} | {w.upper() + "S" for w in SHAPES}
           | {w.upper() for w in DIRECTIONS} | {"TWO", "THREE", "ONE", "DOWNWARD", "UPWARD"})

# ---------------------------------------------------------------------------------------------------------
# Scene-text strings.
_CONS, _VOWELS, _CODAS = "BCDFGKLMNPRSTVZ", "AEIOU", ("", "", "N", "R", "S", "X", "L")
SHOP_WORDS = ("BAKERY", "PHARMACY", "HOTEL", "CAFE", "BOOKS", "MARKET", "DINER", "TAILOR", "OPTICS", "FLORIST",
              "SALON", "GARAGE", "BISTRO", "DELI", "GALLERY", "TOYS")
COMMON_SIGNS = ("OPEN", "EXIT", "SALE", "WELCOME", "PUSH", "NO PARKING", "CLOSED", "ENTRANCE", "TICKETS", "INFO")
GOODS = ("fresh bread", "cheap clothes", "hot coffee", "fresh vegetables", "used books", "handmade gifts",
         "cold drinks", "local food")


# TextVR's test split as tcd.corpus.textvr measures it (caption_statistics, shared_source_share) on the real
# TextVR_test.json (all 2,727 entries, tests/fixtures/textvr; a test recomputes these): the knobs' targets.
TEXTVR_CAPTIONS = {"captions": 2727, "words": 13.63, "quotes_upper": 0.38, "has_digit": 0.07, "no_text": 0.48,
                   "common_words": 0.79}
TEXTVR_SHARED_SOURCE = 0.62   # test clips whose source video gives another test clip

# Common English words for names (none a colour, shape or direction word): most words TextVR captions quote
# are dictionary words shared by many videos (TEXTVR_CAPTIONS["common_words"]), not one-off brand names.
COMMON_WORDS = ("ROYAL", "GOLDEN", "CITY", "SUN", "RIVER", "PARK", "OCEAN", "KING", "QUEEN", "LUCKY", "HAPPY", "OLD",
                "NEW", "GRAND", "PRIME", "METRO", "NORTH", "SOUTH", "EAST", "WEST", "CENTRAL", "MODERN", "CLASSIC",
                "URBAN", "SILVER", "CROWN", "EAGLE", "LION", "TIGER", "PALM", "MAPLE", "OAK", "PINE", "ROSE", "LILY",
                "BRIDGE", "HARBOR", "ISLAND", "VALLEY", "MOUNTAIN", "LAKE", "GARDEN", "HOME", "FAMILY", "FRIENDS",
                "SPORTS", "TOWN", "VILLAGE", "COUNTRY", "NATIONAL", "UNITED", "GLOBAL", "PLANET", "FIRST", "BEST",
                "SMART", "FAST", "SUPER", "MAGIC", "DREAM", "WORLD", "NATURE", "SPRING", "SUMMER", "WINTER", "AUTUMN",
                "MORNING", "EVENING", "NIGHT", "MOON", "STORM", "THUNDER", "FIRE", "STONE", "IRON", "GOLD", "LIBERTY",
                "VICTORY", "EMPIRE", "PHOENIX", "DRAGON", "FALCON", "ANCHOR", "HARVEST", "BAY", "COAST", "PLAZA")


def _word(rng: np.random.Generator, common: float = 0.0) -> str:
    """With chance ``common`` a common English word (shared by many videos), else a made-up brand-like word, e.g. KORVANO."""
    if rng.random() < common:
        return _pick(rng, COMMON_WORDS)
    while True:
        n = int(rng.integers(2, 4))
        w = "".join(_CONS[rng.integers(len(_CONS))] + _VOWELS[rng.integers(len(_VOWELS))] for _ in range(n))
        w += _CODAS[rng.integers(len(_CODAS))]
        if w not in BLOCKED:
            return w


def _cased(rng: np.random.Generator, s: str) -> str:
    return s if rng.random() < 0.6 else s.title()


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def _code(rng: np.random.Generator, letters: int) -> str:
    return "".join(_CONS[rng.integers(len(_CONS))] for _ in range(letters))


def _text_for(kind: str, rng: np.random.Generator, common: float = 0.0) -> str:
    """One scene-text string of the given kind; ``common``: the chance each name word is a common word (`_word`)."""
    n = lambda lo, hi: int(rng.integers(lo, hi))  # noqa: E731
    word = lambda: _word(rng, common)  # noqa: E731
    if kind == "shop":
        return _cased(rng, _pick(rng, (f"{word()} {_pick(rng, SHOP_WORDS)}", f"{_pick(rng, SHOP_WORDS)} {word()}",
                                       word())))
    if kind == "street":
        return _pick(rng, (f"{word().title()} {_pick(rng, ('St', 'Ave', 'Road', 'Lane'))}", f"RUE {word()}"))
    if kind == "poster":
        return _cased(rng, _pick(rng, (f"{word()} {n(1990, 2025)}", f"{word()} LIVE", f"{word()} FESTIVAL")))
    if kind == "price":
        return _pick(rng, (f"${n(1, 20)}.{n(10, 99)}", f"{n(1, 60)}.{n(10, 99)} EUR", f"2 FOR ${n(3, 9)}"))
    if kind == "sign":
        return _pick(rng, COMMON_SIGNS + (f"AISLE {n(1, 20)}", f"SALE {5 * n(2, 14)}%"))
    if kind == "hud":
        return _pick(rng, (f"SCORE {n(100, 99999)}", f"LEVEL {n(1, 40)}", f"HP {n(10, 100)}", f"COINS {n(10, 999)}",
                           f"WAVE {n(1, 20)}", f"TIME {n(0, 10):02d}:{n(0, 60):02d}"))
    if kind == "gametitle":
        return f"{word()} {_pick(rng, ('QUEST', 'RUSH', 'LEGENDS', 'ARENA', 'KINGDOM'))}"
    if kind == "player":
        return _pick(rng, (f"{word()} {n(1, 99)}", f"No. {n(1, 99)} {word()}"))
    if kind == "score":
        return f"{_code(rng, 3)} {n(0, 6)} - {n(0, 6)} {_code(rng, 3)}"
    if kind == "banner":
        return _cased(rng, _pick(rng, (f"{word()} {_pick(rng, ('CUP', 'OPEN', 'MARATHON', 'CLASSIC'))} {n(1990, 2025)}",
                                       f"GO {word()}!", f"{word()} SPORTS")))
    if kind == "plate":
        return f"{_code(rng, 3)} {n(100, 999)}{_code(rng, 1)}"
    if kind == "roadsign":
        return _pick(rng, (f"EXIT {n(1, 99)}", f"{word().title()} {n(2, 80)} km", f"SPEED {10 * n(3, 13)}"))
    if kind == "headline":
        return (f"{word()} {_pick(rng, ('BRIDGE', 'HARBOR', 'STATION', 'AIRPORT', 'SCHOOL'))} "
                f"{_pick(rng, ('REOPENS', 'CLOSES', 'EXPANDS', 'WINS AWARD'))}")
    if kind == "subtitle":
        name, place = word().title(), word().title()
        return _pick(rng, (f"I will meet {name} in {place}.", f"{name} left the {place} hotel.",
                           f"Call {name} before {n(1, 12)} pm.", f"We lost the {place} file."))
    if kind == "logo":
        return _pick(rng, (f"{_code(rng, 3)} NEWS", f"CH {n(1, 99)}", f"{word()} TV"))
    if kind == "ticker":
        return f"{_code(rng, 4)} +{n(0, 9)}.{n(0, 99):02d}%"
    if kind == "label":
        return _cased(rng, f"{word()} {_pick(rng, ('FLOUR', 'OLIVE OIL', 'RICE', 'SUGAR', 'PASTA', 'TEA', 'HONEY'))}")
    if kind == "step":
        return _pick(rng, (f"STEP {n(1, 9)}", f"BAKE {5 * n(2, 12)} MIN", f"{n(1, 5)} CUPS"))
    if kind == "number":
        return _pick(rng, (str(n(10, 9999)), f"No. {n(1, 99)}", f"{n(1, 9)}F"))
    raise KeyError(kind)


# kind -> (caption noun phrase, placement band, style). Bands: vertical range (fraction of frame height) of the
# text's top edge. Styles: "board" = text on a coloured plate, "bare" = outlined text; overlays ignore camera
# pan and perspective (they are drawn on the screen, not in the scene).
KINDS = {
    "shop": ("the shop sign", (0.05, 0.45), "board"), "street": ("the street sign", (0.05, 0.5), "board"),
    "poster": ("the poster", (0.15, 0.6), "board"), "price": ("the price tag", (0.35, 0.75), "board"),
    "sign": ("a sign", (0.1, 0.7), "board"), "hud": ("the game screen", (0.02, 0.1), "overlay"),
    "gametitle": ("the game title", (0.25, 0.5), "bare"), "player": ("the player tag", (0.3, 0.75), "bare"),
    "score": ("the scoreboard", (0.02, 0.08), "overlay"), "banner": ("the banner", (0.05, 0.4), "board"),
    "plate": ("the license plate", (0.5, 0.8), "board"), "roadsign": ("the road sign", (0.05, 0.35), "board"),
    "headline": ("the headline", (0.66, 0.7), "overlay"), "subtitle": ("the subtitle", (0.84, 0.86), "overlay"),
    "logo": ("the channel logo", (0.02, 0.08), "overlay"), "ticker": ("the ticker", (0.02, 0.5), "bare"),
    "label": ("the label", (0.3, 0.7), "board"), "step": ("the recipe card", (0.02, 0.12), "overlay"),
    "number": ("a number", (0.1, 0.8), "bare"),
}
DOMAIN_KINDS = {  # domain -> (salient kinds, distractor kinds)
    "Street_View_Indoor": (("shop", "price", "poster"), ("sign", "price", "number")),
    "Street_View_Outdoor": (("shop", "street", "poster"), ("sign", "street", "number")),
    "Games": (("gametitle", "player", "hud"), ("hud", "number")),
    "Sports": (("score", "banner", "player"), ("banner", "number", "sign")),
    "Driving": (("plate", "roadsign", "street"), ("plate", "roadsign", "number")),
    "Activity": (("banner", "poster", "player"), ("sign", "number", "poster")),
    "News_Movie": (("headline", "subtitle", "logo"), ("subtitle", "ticker", "number")),
    "Cooking": (("label", "step", "shop"), ("price", "number", "label")),
}
DOMAIN_PAN = {"Street_View_Indoor": 1.0, "Street_View_Outdoor": 1.5, "Driving": 2.0, "Activity": 0.7}

# ---------------------------------------------------------------------------------------------------------
# Backgrounds: one painter per domain, each with a few palettes.
PALETTES = {
    "Street_View_Indoor": (((235, 225, 205), (160, 120, 80), (120, 120, 130)), ((210, 230, 235), (90, 110, 140), (170, 160, 150)),
                           ((240, 240, 240), (130, 90, 60), (200, 190, 170))),
    "Street_View_Outdoor": (((150, 200, 240), (170, 130, 110), (90, 90, 95)), ((200, 215, 230), (140, 150, 170), (70, 70, 75)),
                            ((245, 200, 160), (120, 100, 90), (100, 95, 90))),
    "Games": (((20, 20, 60), (60, 200, 220), (90, 40, 140)), ((10, 40, 20), (120, 230, 90), (40, 90, 60)),
              ((50, 10, 30), (240, 120, 180), (120, 40, 80))),
    "Sports": (((50, 140, 60), (240, 240, 240), (80, 70, 90)), ((180, 120, 70), (250, 250, 250), (60, 60, 80)),
               ((60, 110, 170), (230, 230, 230), (90, 80, 70))),
    "Driving": (((160, 200, 235), (80, 80, 85), (90, 150, 70)), ((220, 180, 140), (70, 70, 72), (170, 150, 100)),
                ((120, 130, 150), (60, 60, 65), (70, 110, 80))),
    "Activity": (((170, 210, 240), (100, 170, 80), (60, 110, 50)), ((230, 220, 200), (190, 160, 120), (120, 90, 60)),
                 ((140, 170, 200), (90, 140, 110), (50, 80, 70))),
    "News_Movie": (((30, 50, 110), (200, 200, 220), (110, 30, 40)), ((60, 20, 70), (220, 200, 230), (40, 40, 50)),
                   ((20, 80, 90), (210, 230, 230), (30, 40, 60))),
    "Cooking": (((235, 235, 225), (170, 120, 70), (120, 160, 170)), ((250, 240, 220), (140, 90, 50), (200, 80, 60)),
                ((220, 225, 230), (200, 170, 130), (90, 100, 110))),
}


def _jitter(rng: np.random.Generator, c, amount: int = 25) -> tuple[int, int, int]:
    return tuple(int(np.clip(v + rng.integers(-amount, amount + 1), 0, 255)) for v in c)


def _paint_background(domain: str, palette: int, rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A w x h RGB background in the domain's look (w may exceed the frame width to allow camera pan)."""
    a, b, c = PALETTES[domain][palette]
    img = Image.new("RGB", (w, h), a)
    d = ImageDraw.Draw(img)
    if domain == "Street_View_Outdoor":
        x = 0
        while x < w:  # building facades with windows, road at the bottom
            bw, top = int(rng.integers(40, 90)), int(rng.integers(10, h // 3))
            d.rectangle([x, top, x + bw, h], fill=_jitter(rng, b, 35))
            for wy in range(top + 8, int(h * 0.75), 18):
                for wx in range(x + 6, x + bw - 10, 16):
                    d.rectangle([wx, wy, wx + 8, wy + 10], fill=_jitter(rng, (60, 70, 90), 20))
            x += bw + int(rng.integers(0, 6))
        d.rectangle([0, int(h * 0.82), w, h], fill=c)
        for x in range(0, w, 30):
            d.rectangle([x, int(h * 0.9), x + 14, int(h * 0.92)], fill=(230, 230, 230))
    elif domain == "Street_View_Indoor":
        d.rectangle([0, int(h * 0.75), w, h], fill=c)  # floor, shelves with boxes
        for y in (int(h * 0.3), int(h * 0.52), int(h * 0.72)):
            d.rectangle([0, y, w, y + 4], fill=b)
            x = int(rng.integers(0, 10))
            while x < w:
                bw = int(rng.integers(8, 20))
                d.rectangle([x, y - int(rng.integers(8, 22)), x + bw, y], fill=_jitter(rng, (150, 150, 150), 80))
                x += bw + int(rng.integers(2, 8))
    elif domain == "Games":
        for x in range(0, w, 16):
            d.line([x, 0, x, h], fill=c)
        for y in range(0, h, 16):
            d.line([0, y, w, y], fill=c)
        for _ in range(4):  # platforms
            px, py = int(rng.integers(0, w - 60)), int(rng.integers(h // 3, h - 10))
            d.rectangle([px, py, px + int(rng.integers(30, 80)), py + 6], fill=b)
    elif domain == "Sports":
        d.rectangle([0, 0, w, int(h * 0.22)], fill=c)  # stands with spectators, field lines
        for _ in range(w // 2):
            sx, sy = int(rng.integers(0, w)), int(rng.integers(0, int(h * 0.2)))
            d.point([sx, sy], fill=_jitter(rng, (180, 160, 150), 70))
        d.line([0, int(h * 0.25), w, int(h * 0.25)], fill=b, width=2)
        d.line([w // 2, int(h * 0.25), w // 2, h], fill=b, width=2)
        d.ellipse([w // 2 - 30, int(h * 0.6) - 30, w // 2 + 30, int(h * 0.6) + 30], outline=b, width=2)
    elif domain == "Driving":
        d.rectangle([0, int(h * 0.45), w, h], fill=c)  # verge
        d.polygon([(0, h), (w, h), (int(w * 0.6), int(h * 0.45)), (int(w * 0.4), int(h * 0.45))], fill=b)
        for x in range(0, w, 40):  # lane dashes along the road edge
            d.rectangle([x, int(h * 0.86), x + 18, int(h * 0.88)], fill=(235, 235, 235))
    elif domain == "Activity":
        d.rectangle([0, int(h * 0.55), w, h], fill=b)  # grass and tree blobs
        for _ in range(max(2, w // 60)):
            tx = int(rng.integers(0, w))
            d.rectangle([tx - 3, int(h * 0.35), tx + 3, int(h * 0.58)], fill=(100, 70, 40))
            d.ellipse([tx - 24, int(h * 0.12), tx + 24, int(h * 0.42)], fill=_jitter(rng, c, 20))
    elif domain == "News_Movie":
        for y in range(h):  # studio gradient, desk, wall screen
            d.line([0, y, w, y], fill=tuple(int(v * (0.6 + 0.4 * y / h)) for v in a))
        d.rectangle([int(w * 0.55), int(h * 0.1), int(w * 0.95), int(h * 0.5)], fill=_jitter(rng, c, 15))
        d.rectangle([0, int(h * 0.6), w, h], fill=tuple(v // 2 for v in b))
    elif domain == "Cooking":
        for x in range(0, w, 20):  # tiles, counter, cutting board
            d.line([x, 0, x, int(h * 0.55)], fill=_jitter(rng, a, 10))
        for y in range(0, int(h * 0.55), 20):
            d.line([0, y, w, y], fill=_jitter(rng, a, 10))
        d.rectangle([0, int(h * 0.55), w, h], fill=b)
        bx = int(rng.integers(10, max(11, w - 100)))
        d.rectangle([bx, int(h * 0.62), bx + 90, int(h * 0.92)], fill=_jitter(rng, c, 15))
    return np.asarray(img)


# ---------------------------------------------------------------------------------------------------------
# Video plans: everything that decides a video's pixels and captions, drawn from the planning RNG.

@dataclass
class _ObjectGroup:
    shape: str
    colour: str
    count: int
    direction: str
    size: int
    speed: float
    start: tuple[float, float]   # top-left of the first object at frame span[0]
    span: tuple[int, int]        # [first, last+1) frame


@dataclass
class _Visual:
    domain: str
    palette: int
    bg_seed: int
    noise_seed: int
    pan: float
    objects: list[_ObjectGroup]


@dataclass
class _TextPlan:
    text: str
    kind: str
    salient: bool
    font: int
    size: int
    fg: tuple[int, int, int]
    board: tuple[int, int, int] | None
    span: tuple[int, int]
    start: tuple[int, int]       # screen position of the patch at span[0] (scene text then moves with the pan)
    velocity: float              # own horizontal motion, px/frame (plates on moving cars)
    corners: tuple[float, ...]   # perspective jitter of the 4 patch corners, fraction of patch size
    blur: float
    occluder: tuple[float, float] | None  # pole in front: (left, width) as fractions of the patch width


@dataclass
class _Video:
    name: str
    split: str
    visual: _Visual
    texts: list[_TextPlan]
    group: str                   # "" for a singleton, else e.g. "test-scene-3" / "test-text-1"
    captions: list[str]
    caption_kinds: list[str]


def _span(rng: np.random.Generator, t: int, mode: str) -> tuple[int, int]:
    if mode == "full":
        return 0, t
    length = int(rng.integers(2, max(3, t // 6) + 1)) if mode == "short" else \
        int(rng.integers(max(2, int(t * 0.4)), max(3, int(t * 0.8)) + 1))
    length = min(length, t)
    first = int(rng.integers(0, t - length + 1))
    return first, first + length


def _span_mode(rng: np.random.Generator, salient: bool) -> str:
    p = (0.5, 0.35, 0.15) if salient else (0.4, 0.4, 0.2)
    return str(rng.choice(("full", "part", "short"), p=p))


def _plan_visual(rng: np.random.Generator, domain: str, cfg: SynthConfig, t: int) -> _Visual:
    groups, used = [], set()
    for _ in range(int(rng.integers(1, 3))):
        while True:
            shape, colour = _pick(rng, SHAPES), _pick(rng, tuple(COLOURS))
            if (shape, colour) not in used:
                used.add((shape, colour))
                break
        direction, count = _pick(rng, tuple(DIRECTIONS)), int(rng.integers(1, 4))
        size = int(rng.integers(14, 24) * cfg.height / 160)
        span = (0, t) if rng.random() < 0.8 else _span(rng, t, "part")
        groups.append(_place_objects(rng, cfg, shape, colour, count, direction, size, span))
    return _Visual(domain, int(rng.integers(len(PALETTES[domain]))), int(rng.integers(2**31)),
                   int(rng.integers(2**31)), DOMAIN_PAN.get(domain, 0.0), groups)


def _place_objects(rng, cfg, shape, colour, count, direction, size, span) -> _ObjectGroup:
    """Choose speed and start so that every object stays fully in frame for the whole span."""
    dx, dy = DIRECTIONS[direction]
    steps = max(1, span[1] - span[0] - 1)
    along = cfg.width if dx else cfg.height
    speed = float(min(rng.uniform(1.5, 3.0), (along - size - 8) * 0.8 / steps))
    gap = size * 1.6  # objects of a group sit side by side across the motion direction
    extent_x = size + (0 if dx else gap * (count - 1))
    extent_y = size + (gap * (count - 1) if dx else 0)
    travel_x, travel_y = dx * speed * steps, dy * speed * steps
    x_lo, x_hi = 4 - min(0, travel_x), cfg.width - 4 - extent_x - max(0, travel_x)
    y_lo, y_hi = 4 - min(0, travel_y), cfg.height - 4 - extent_y - max(0, travel_y)
    start = (float(rng.uniform(x_lo, max(x_lo, x_hi))), float(rng.uniform(y_lo, max(y_lo, y_hi))))
    return _ObjectGroup(shape, colour, count, direction, size, speed, start, span)


_FONT_CACHE: dict[tuple[int, int], ImageFont.FreeTypeFont] = {}


def _font(index: int, size: int) -> ImageFont.FreeTypeFont:
    """DejaVu fonts bundled with matplotlib (never system fonts: the corpus must be identical everywhere)."""
    key = (index, size)
    if key not in _FONT_CACHE:
        path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / FONT_FILES[index]
        if not path.exists():
            raise FileNotFoundError(f"{path} missing: SynthTextVR needs the DejaVu fonts bundled with matplotlib "
                                    "(pip install matplotlib)")
        _FONT_CACHE[key] = ImageFont.truetype(str(path), size)
    return _FONT_CACHE[key]


def _text_width(text: str, font: int, size: int) -> int:
    left, _, right, _ = _font(font, size).getbbox(text)
    return right - left


def _plan_text(rng: np.random.Generator, cfg: SynthConfig, vis: _Visual, kind: str, text: str, salient: bool,
               t: int, taken: list[tuple[int, int, int, int]]) -> _TextPlan | None:
    """Style and place one instance so it stays in frame over its span and does not overlap placed text.
    Returns None when it does not fit."""
    _, (band_lo, band_hi), style = KINDS[kind]
    overlay = style == "overlay"
    span = _span(rng, t, _span_mode(rng, salient))
    if kind == "subtitle":  # subtitles come and go one after another at the same place
        span = _span(rng, t, "part" if salient else "short")
    base = {"hud": 16, "score": 17, "logo": 16, "subtitle": 15, "headline": 16, "step": 16, "plate": 16,
            "price": 17, "number": 18, "ticker": 15}.get(kind, int(rng.integers(16, 34)))
    font = 4 + int(rng.integers(2)) if kind in ("hud", "score", "plate", "ticker") else int(rng.integers(len(FONT_FILES)))
    velocity = float(rng.choice((-1.0, 1.0)) * rng.uniform(0.8, 1.6)) if kind == "plate" else 0.0
    pan = 0.0 if overlay else vis.pan
    steps = span[1] - span[0] - 1
    travel = (velocity - pan) * steps
    pad = 4 if style in ("board", "overlay") else 2
    size = max(10, int(base * cfg.text_scale * cfg.height / 160))
    tilt = 0.0 if overlay else 0.05  # perspective moves a corner by up to 5% of the patch width (_render_patch)
    while size >= 10 and (_text_width(text, font, size) + 2 * pad) * (1 + 2 * tilt) > cfg.width - 8 - abs(travel):
        size -= 1
    if size < 10:
        return None
    pw, ph = _text_width(text, font, size) + 2 * pad, int(size * 1.25) + 2 * pad
    x_lo, x_hi = 4 + tilt * pw - min(0.0, travel), cfg.width - 4 - (1 + tilt) * pw - max(0.0, travel)
    if kind in ("subtitle", "headline"):
        x_lo = x_hi = (cfg.width - pw) / 2 if kind == "subtitle" else 4
    for _ in range(20):
        x = int(rng.uniform(x_lo, max(x_lo, x_hi)))
        y = int(rng.uniform(band_lo, band_hi) * cfg.height)
        y = min(y, cfg.height - ph - 2)
        box = (x, y, x + pw, y + ph)
        if kind == "subtitle" or all(box[2] <= o[0] or o[2] <= box[0] or box[3] <= o[1] or o[3] <= box[1] for o in taken):
            break
    else:
        return None
    if kind != "subtitle":
        taken.append(box)
    if style == "bare" or kind == "subtitle":
        fg, board = (_pick(rng, ((250, 250, 250), (255, 230, 90), (20, 20, 20))), None)
    else:
        board = _jitter(rng, _pick(rng, ((30, 60, 140), (150, 30, 40), (30, 110, 60), (240, 240, 235),
                                         (20, 20, 25), (230, 190, 40))), 20)
        fg = (15, 15, 15) if sum(board) > 450 else (250, 250, 250)
    if kind == "plate":
        board, fg = (235, 235, 230), (20, 20, 20)
    corners = tuple(0.0 for _ in range(8)) if overlay else tuple(float(v) for v in rng.uniform(-1, 1, 8))
    return _TextPlan(text, kind, salient, font, size, fg, board, span, (x, y), velocity, corners,
                     0.0 if overlay else float(rng.uniform(0, cfg.blur)),
                     (float(rng.uniform(0.1, 0.7)), float(rng.uniform(0.12, 0.3)))
                     if not overlay and rng.random() < cfg.occlusion_prob else None)


# ---------------------------------------------------------------------------------------------------------
# Captions.

def _visual_phrase(g: _ObjectGroup) -> str:
    noun = g.shape if g.count == 1 else g.shape + "s"
    verb = "moves" if g.count == 1 else "move"
    return f"{COUNT_WORDS[g.count]} {g.colour} {noun} {verb} {DIRECTION_WORDS[g.direction]}"


def object_attributes(g: _ObjectGroup) -> dict:
    """What a caption can say of an object group (the card's record, read by the visual oracle)."""
    return {"count": g.count, "colour": g.colour, "shape": g.shape, "direction": g.direction, "span": list(g.span)}


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def _quote(rng: np.random.Generator, cfg: SynthConfig, text: str) -> tuple[str, list[str]]:
    """The text as a caption quotes it: whole, as a contiguous sub-span of its words, and/or re-cased; its digit
    words are left out unless ``numeric_quote_prob`` draws them (TextVR's captions rarely quote numbers)."""
    words, flags = text.split(), []
    if any(_has_digit(w) for w in words) and not all(_has_digit(w) for w in words) \
            and rng.random() >= cfg.numeric_quote_prob:
        words, flags = [w for w in words if not _has_digit(w) and any(c.isalnum() for c in w)] or words, ["partial"]
    if len(words) > 1 and rng.random() < cfg.partial_quote_prob:
        n = int(rng.integers(1, len(words)))
        first = int(rng.integers(0, len(words) - n + 1))
        words, flags = words[first:first + n], ["partial"]
    quote = " ".join(words)
    if rng.random() < cfg.paraphrase_prob:
        quote, flags = (quote.title() if quote.isupper() else quote.upper()), flags + ["paraphrase"]
    return quote, flags


def _text_clause(rng: np.random.Generator, kind: str, quote: str, paraphrase: bool) -> str:
    np_, verb = KINDS[kind][0], _pick(rng, ("reads", "shows", "says"))
    literal = (f"{np_[0].upper()}{np_[1:]} {verb} {quote}",)
    specific = {
        "shop": (f"The store {quote} offers {_pick(rng, GOODS)}", f"There is a shop called {quote}"),
        "street": (f"The street is named {quote}",), "plate": (f"A car with the plate {quote} drives by",),
        "score": (f"The score on the board is {quote}",), "subtitle": (f"Someone says: {quote}",),
        "headline": (f"The news is about {quote}",), "label": (f"The cook uses {quote}",),
        "banner": (f"The event is sponsored by {quote}",), "gametitle": (f"The game being played is {quote}",),
        "poster": (f"A poster advertises {quote}",), "price": (f"Something costs {quote}",),
    }.get(kind, ())
    options = specific + literal if paraphrase else literal + specific[:1]
    return _pick(rng, options)


def _caption(rng: np.random.Generator, cfg: SynthConfig, video: _Video, kind: str) -> tuple[str, str]:
    """One caption of the requested kind ('text', 'text+visual', 'visual'); returns (caption, kind with flags)."""
    vis, scene = video.visual, _pick(rng, SCENE_PHRASES[video.visual.domain])
    if kind == "visual":
        phrases = [_visual_phrase(g) for g in vis.objects]
        s = " and ".join(phrases)
        return f"{s[0].upper()}{s[1:]} {scene}.", "visual"
    salient = [tp for tp in video.texts if tp.salient]
    if video.group.split("-")[1:2] == ["text"]:
        salient = salient[:1]  # same-text groups quote only the shared string; visuals must disambiguate
    timed_texts = [tp for tp in salient if any(g.span == tp.span for g in vis.objects)]
    tp = _pick(rng, timed_texts if kind == "text+visual" and timed_texts and rng.random() < 0.7 else salient)
    wordy = [o for o in salient if not _has_digit(o.text)]
    if _has_digit(tp.text) and wordy and rng.random() >= cfg.numeric_quote_prob:
        tp = _pick(rng, wordy)  # TextVR's captions quote names and words far more often than numbers
    quote, flags = _quote(rng, cfg, tp.text)
    clause = _text_clause(rng, tp.kind, quote, "paraphrase" in flags)
    if kind == "text":
        others = [o for o in salient if o is not tp]
        if others and rng.random() < 0.3:
            o = _pick(rng, others)
            q2, f2 = _quote(rng, cfg, o.text)
            second = _text_clause(rng, o.kind, q2, "paraphrase" in f2)
            clause += f", and {second[0].lower()}{second[1:]}"
            flags += [f for f in f2 if f not in flags]
        if rng.random() < cfg.scene_context_prob:
            clause += f" {scene}"  # TextVR's captions say where, too (13 words on average, TEXTVR_CAPTIONS)
        return clause + ".", "+".join(["text"] + flags)
    timed = [g for g in vis.objects if g.span == tp.span and g.span != (0, int(cfg.seconds * cfg.fps))]
    if timed:
        return (f"When {_visual_phrase(timed[0])}, {clause[0].lower()}{clause[1:]}.",
                "+".join(["text", "visual", "temporal"] + flags))
    g = _pick(rng, vis.objects)
    vp = _visual_phrase(g)
    return (_pick(rng, (f"{vp[0].upper()}{vp[1:]} {scene}, and {clause[0].lower()}{clause[1:]}.",
                        f"{clause} while {vp}.")), "+".join(["text", "visual"] + flags))


# Caption-kind mix per group kind (text, text+visual, visual); test mix ~ 60 / 25 / 15 overall.
KIND_MIX = {"scene": (0.8, 0.2, 0.0), "text": (0.0, 0.9, 0.1), "": (0.8, 0.14, 0.06)}


# ---------------------------------------------------------------------------------------------------------
# Planning a split.

def _unit_domains(rng: np.random.Generator, cfg: SynthConfig, units: list[tuple[str, int]], n: int) -> list[str]:
    """Each unit's domain: Activity for about ``activity_share`` of the videos (TextVR's test split: 46%), never a
    same-scene group (its captions would have to quote text, and Activity's rarely do), the other domains in turn."""
    domains: list[str | None] = [None] * len(units)
    left = round(cfg.activity_share * n)
    for i in rng.permutation(len(units)):
        if units[i][0] != "scene" and units[i][1] <= left:
            domains[i], left = "Activity", left - units[i][1]
    others = [d for d in DOMAINS if d != "Activity"]
    rest = [i for i, d in enumerate(domains) if d is None]
    for j, i in enumerate(rng.permutation(rest)):
        domains[i] = others[j % len(others)]
    return domains


def _caption_mix(cfg: SynthConfig, v: _Video) -> tuple[float, float, float]:
    """P(text, text+visual, visual) for a video's captions: TextVR's Activity captions rarely quote text."""
    if v.visual.domain == "Activity":
        return (cfg.activity_text_prob / 2, cfg.activity_text_prob / 2, 1.0 - cfg.activity_text_prob)
    return KIND_MIX[v.group.split("-")[1] if v.group else ""]


def _plan_split(rng: np.random.Generator, cfg: SynthConfig, split: str, n: int, pool: list[str],
                names: set[str]) -> list[_Video]:
    t = int(round(cfg.seconds * cfg.fps))
    g = max(2, cfg.hard_negative_group_size)
    n_scene, n_text = int(round(cfg.scene_group_share * n / g)), int(round(cfg.text_group_share * n / g))
    while (n_scene + n_text) * g > n and (n_scene or n_text):
        n_scene, n_text = (n_scene - 1, n_text) if n_scene >= n_text else (n_scene, n_text - 1)
    units = [("scene", g)] * n_scene + [("text", g)] * n_text + [("", 1)] * (n - (n_scene + n_text) * g)
    order = rng.permutation(len(units))
    units = [units[i] for i in order]
    domains = _unit_domains(rng, cfg, units, n)
    counters = {"scene": 0, "text": 0}
    videos: list[_Video] = []
    for (gkind, size), domain in zip(units, domains):
        group = ""
        if gkind:
            group = f"{split}-{gkind}-{counters[gkind]}"
            counters[gkind] += 1
        salient_kinds_all, distract_kinds = DOMAIN_KINDS[domain]
        n_salient = int(rng.choice((1, 2, 3), p=(0.35, 0.45, 0.2)))
        kinds = [salient_kinds_all[i] for i in rng.permutation(len(salient_kinds_all))[:n_salient]]
        n_distract = int(rng.poisson(cfg.distractors_per_video))
        distractors = []
        for _ in range(n_distract):
            words = _pick(rng, pool).split() if pool and rng.random() < 0.3 else []
            if len(words) > 1:  # part of a text quoted for another video: string matching gets false hits
                k = int(rng.integers(1, len(words)))
                distractors.append((_pick(rng, distract_kinds), " ".join(words[:k])))
            else:
                kd = _pick(rng, distract_kinds)
                distractors.append((kd, _text_for(kd, rng, cfg.common_word_prob)))
        shared_visual = _plan_visual(rng, domain, cfg, t)
        layout_seed = int(rng.integers(2**31))
        shared_text = _text_for(kinds[0], rng, cfg.common_word_prob)
        for member in range(size):
            vis = shared_visual if gkind == "scene" or member == 0 else _plan_visual(rng, domain, cfg, t)
            texts_wanted = [(k, _text_for(k, rng, cfg.common_word_prob)) for k in kinds]
            if gkind == "text":
                texts_wanted[0] = (kinds[0], shared_text)
            # same-scene members place their text with the same RNG stream, so layouts match where sizes allow
            lrng = np.random.default_rng(layout_seed if gkind == "scene" else int(rng.integers(2**31)))
            taken: list = []
            plans = []
            for k, s in texts_wanted:
                tp = _plan_text(lrng, cfg, vis, k, s, True, t, taken)
                if tp is None:  # too long for the frame: a fresh, shorter-or-equal draw of the same kind
                    tp = _plan_text(lrng, cfg, vis, k, _text_for(k, lrng, cfg.common_word_prob), True, t, taken)
                if tp is not None:
                    plans.append(tp)
            if not plans:  # always at least one quotable text
                plans.append(_plan_text(lrng, cfg, vis, "number", _text_for("number", lrng), True, t, taken))
            for k, s in distractors:
                tp = _plan_text(lrng, cfg, vis, k, s, False, t, taken)
                if tp is not None:
                    plans.append(tp)
            while True:
                name = f"{domain.lower()}_{int(rng.integers(2**32)):08x}_00000_{int(round(cfg.seconds)):05d}"
                if name not in names:
                    names.add(name)
                    break
            partial = [tp for tp in plans if tp.salient and tp.span != (0, t)]
            if not gkind and partial and rng.random() < 0.5:  # an object group appears exactly while a text does
                o = vis.objects[-1]
                vis.objects[-1] = _place_objects(rng, cfg, o.shape, o.colour, o.count, o.direction, o.size,
                                                 partial[0].span)
            videos.append(_Video(name, split, vis, plans, group, [], []))
            pool.extend(tp.text for tp in plans if tp.salient)
    n_caps = 1 if split == "test" else cfg.captions_per_train_video
    for v in videos:
        mix = _caption_mix(cfg, v)
        for _ in range(n_caps):
            for _attempt in range(10):  # distinct captions per video
                cap, ck = _caption(rng, cfg, v, str(rng.choice(("text", "text+visual", "visual"), p=mix)))
                if cap not in v.captions:
                    break
            v.captions.append(cap)
            v.caption_kinds.append(ck)
    return videos


# ---------------------------------------------------------------------------------------------------------
# Rendering.

def _homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3x3 H with dst ~ H @ src for 4 point pairs."""
    a, b = [], []
    for (x, y), (u, v) in zip(src, dst):
        a += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        b += [u, v]
    return np.append(np.linalg.solve(np.array(a, float), np.array(b, float)), 1.0).reshape(3, 3)


def _render_patch(tp: _TextPlan) -> tuple[Image.Image, np.ndarray]:
    """The instance as an RGBA patch (board, text, perspective, blur) and its text quad in patch pixels."""
    font = _font(tp.font, tp.size)
    left, top, right, bottom = font.getbbox(tp.text)
    pad = 4 if tp.board is not None else 2
    w, h = right - left + 2 * pad, int(tp.size * 1.25) + 2 * pad
    patch = Image.new("RGBA", (w, h), (*tp.board, 255) if tp.board is not None else (0, 0, 0, 0))
    d = ImageDraw.Draw(patch)
    ty = (h - (bottom - top)) // 2 - top
    stroke = 0 if tp.board is not None else 1
    d.text((pad - left, ty), tp.text, font=font, fill=(*tp.fg, 255), stroke_width=stroke,
           stroke_fill=(0, 0, 0, 255) if sum(tp.fg) > 300 else (255, 255, 255, 255))
    box = np.array([[pad, ty + top], [w - pad, ty + top], [w - pad, ty + bottom], [pad, ty + bottom]], float)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    dst = src + np.array(tp.corners).reshape(4, 2) * np.array([0.05 * w, 0.15 * h])
    dst -= dst.min(axis=0)
    out_w, out_h = (int(np.ceil(v)) for v in dst.max(axis=0))
    if any(tp.corners):
        inv = _homography(dst, src)  # PIL maps output pixels back to input pixels
        patch = patch.transform((out_w, out_h), Image.Transform.PERSPECTIVE, tuple((inv / inv[2, 2]).ravel()[:8]),
                                resample=Image.Resampling.BICUBIC)
        fwd = _homography(src, dst)
        p = np.c_[box, np.ones(4)] @ fwd.T
        box = p[:, :2] / p[:, 2:]
    if tp.blur > 0.05:
        patch = patch.filter(ImageFilter.GaussianBlur(tp.blur))
    return patch, box


def _draw_shape(d: ImageDraw.ImageDraw, shape: str, x: float, y: float, s: int, colour) -> None:
    outline = (0, 0, 0) if sum(colour) > 200 else (255, 255, 255)
    if shape == "circle":
        d.ellipse([x, y, x + s, y + s], fill=colour, outline=outline)
    elif shape == "square":
        d.rectangle([x, y, x + s, y + s], fill=colour, outline=outline)
    elif shape == "triangle":
        d.polygon([(x + s / 2, y), (x + s, y + s), (x, y + s)], fill=colour, outline=outline)
    elif shape == "diamond":
        d.polygon([(x + s / 2, y), (x + s, y + s / 2), (x + s / 2, y + s), (x, y + s / 2)], fill=colour, outline=outline)
    else:
        pts = []
        for k in range(10):
            r = s / 2 if k % 2 == 0 else s / 4.5
            a = -np.pi / 2 + k * np.pi / 5
            pts.append((x + s / 2 + r * np.cos(a), y + s / 2 + r * np.sin(a)))
        d.polygon(pts, fill=colour, outline=outline)


def _render_video(cfg: SynthConfig, v: _Video, only: Sequence[int] | None = None) -> tuple[np.ndarray, list[OcrTrack]]:
    """Frames [T, H, W, 3] and ground-truth tracks; ``only``: draw just these frame indices (in order; their noise
    then differs from a full render's), as the pretraining clips need only the sampled frames."""
    t, w, h = int(round(cfg.seconds * cfg.fps)), cfg.width, cfg.height
    vis = v.visual
    extra = int(np.ceil(vis.pan * t)) + 1
    bg = _paint_background(vis.domain, vis.palette, np.random.default_rng(vis.bg_seed), w + extra, h)
    noise_rng = np.random.default_rng(vis.noise_seed)
    patches = [_render_patch(tp) for tp in v.texts]
    boxes: list[dict[int, tuple[float, ...]]] = [{} for _ in v.texts]
    drawn = range(t) if only is None else [int(f) for f in only]
    frames = np.empty((len(drawn), h, w, 3), np.uint8)
    scene = [i for i, tp in enumerate(v.texts) if KINDS[tp.kind][2] != "overlay"]
    overlay = [i for i, tp in enumerate(v.texts) if KINDS[tp.kind][2] == "overlay"]
    for out, f in enumerate(drawn):
        shift = int(round(vis.pan * f))
        img = Image.fromarray(bg[:, shift:shift + w])
        d = ImageDraw.Draw(img)

        def paste(i: int) -> None:
            tp = v.texts[i]
            if not tp.span[0] <= f < tp.span[1]:
                return
            pan = 0 if i in overlay else shift - int(round(vis.pan * tp.span[0]))
            x = tp.start[0] + int(round(tp.velocity * (f - tp.span[0]))) - pan
            y = tp.start[1]
            patch, quad = patches[i]
            img.paste(patch, (x, y), patch)
            if tp.occluder is not None:
                ox = x + int(tp.occluder[0] * patch.width)
                d.rectangle([ox, y - 6, ox + max(2, int(tp.occluder[1] * patch.width)), y + patch.height + 6],
                            fill=(60, 55, 50))
            boxes[i][f] = tuple(round(float(c), 2) for c in (quad + [x, y]).ravel())

        for i in scene:
            paste(i)
        for g in vis.objects:
            if g.span[0] <= f < g.span[1]:
                dx, dy = DIRECTIONS[g.direction]
                step = g.speed * (f - g.span[0])
                for k in range(g.count):
                    off = g.size * 1.6 * k
                    _draw_shape(d, g.shape, g.start[0] + dx * step + (0 if dx else off),
                                g.start[1] + dy * step + (off if dx else 0), g.size, COLOURS[g.colour])
        for i in overlay:
            paste(i)
        frame = np.asarray(img, dtype=np.int16) + noise_rng.normal(0, 2.0, (h, w, 1)).round().astype(np.int16)
        frames[out] = np.clip(frame, 0, 255).astype(np.uint8)
    tracks = [OcrTrack(str(i), tp.text, 1.0, boxes[i]) for i, tp in enumerate(v.texts) if boxes[i]]
    return frames, tracks


# ---------------------------------------------------------------------------------------------------------
# Clips for pretraining (tcd.pretrain): the generator's visual world, described only by what it shows.

def visual_clip(rng: np.random.Generator, cfg: SynthConfig, only: Sequence[int]) -> tuple[np.ndarray, str, str]:
    """One clip drawn from ``rng`` alone: a domain's scene, object groups, and scene text no description mentions
    (so a tower trained on it learns to look past text, never to read it). Returns (the frames ``only`` [n, H, W, 3],
    its description as SynthTextVR's visual captions word it, the domain)."""
    t = int(round(cfg.seconds * cfg.fps))
    domain = _pick(rng, DOMAINS)
    vis = _plan_visual(rng, domain, cfg, t)
    salient_kinds, distract_kinds = DOMAIN_KINDS[domain]
    taken: list = []
    texts = [_plan_text(rng, cfg, vis, kind, _text_for(kind, rng, cfg.common_word_prob), False, t, taken)
             for kind in (_pick(rng, salient_kinds + distract_kinds) for _ in range(int(rng.integers(0, 4))))]
    video = _Video("pretrain", "pretrain", vis, [tp for tp in texts if tp is not None], "", [], [])
    description, _ = _caption(rng, cfg, video, "visual")
    frames, _ = _render_video(cfg, video, only)
    return frames, description, domain


# ---------------------------------------------------------------------------------------------------------
# Public entry point.

def _prepare_root(root: Path) -> None:
    """Refuse a non-empty root that is not SynthTextVR output; clear the layout of a previous output."""
    if root.exists() and any(root.iterdir()):
        card = root / CARD_NAME
        try:
            ours = json.loads(card.read_text()).get("generator") == GENERATOR
        except (OSError, ValueError, AttributeError):
            ours = False
        if not ours:
            raise FileExistsError(f"{root} is not empty and holds no {CARD_NAME} from {GENERATOR}: "
                                  "refusing to write there; pass an empty or new directory")
        for name in ("Videos", "Kwai_VideoOCR"):
            shutil.rmtree(root / name, ignore_errors=True)
        for name in ("TextVR_train.json", "TextVR_test.json", CARD_NAME):
            (root / name).unlink(missing_ok=True)
    root.mkdir(parents=True, exist_ok=True)


def _write_video(job: tuple[SynthConfig, _Video, Path]) -> None:
    cfg, v, root = job
    frames, tracks = _render_video(cfg, v)
    domain = v.visual.domain
    write_video(root / "Videos" / domain / f"{v.name}.mp4", frames, cfg.fps)
    write_ocr_file(root / "Kwai_VideoOCR" / domain / f"{v.name}.json", tracks)


def generate(cfg: SynthConfig, root: str | Path, progress: bool = True, workers: int | None = None) -> dict:
    """Write a SynthTextVR corpus under root in the TextVR layout; returns a summary (counts, seconds).
    ``workers`` processes render and encode the videos (default: one per core); every video is drawn from its own
    planned seeds, so the bytes are the same with any number (tested)."""
    start = time.perf_counter()
    root = Path(root)
    _prepare_root(root)
    rng = np.random.default_rng(np.random.SeedSequence(cfg.seed))
    pool: list[str] = []
    names: set[str] = set()
    splits = {"train": _plan_split(rng, cfg, "train", cfg.n_train_videos, pool, names),
              "test": _plan_split(rng, cfg, "test", cfg.n_test_videos, pool, names)}
    jobs = [(cfg, v, root) for vs in splits.values() for v in vs]
    workers = min(len(jobs), workers or os.cpu_count() or 1)
    with contextlib.ExitStack() as stack:
        done = map(_write_video, jobs) if workers <= 1 else \
            stack.enter_context(ProcessPoolExecutor(workers)).map(_write_video, jobs, chunksize=4)
        if progress:
            from tqdm import tqdm
            done = tqdm(done, total=len(jobs), desc="SynthTextVR videos")
        for _ in done:
            pass
    summary: dict = {"root": str(root), "videos": {}, "captions": {}, "per_domain": {}, "caption_kinds": {}}
    card_videos = {}
    for split, videos in splits.items():
        desc_id, entries = 0, []
        for v in videos:
            domain = v.visual.domain
            entries.append(VideoEntry(
                video_id=f"{domain}/{v.name}", path=f"{domain}/{v.name}.mp4", domain=domain, split=split,
                source="synthtextvr", ocr_path=f"{domain}/{v.name}.json", captions=tuple(v.captions),
                desc_ids=tuple(range(desc_id, desc_id + len(v.captions))), duration=float(cfg.seconds)))
            desc_id += len(v.captions)
        write_annotations(root / f"TextVR_{split}.json", entries)
        summary["videos"][split] = len(videos)
        summary["captions"][split] = desc_id
        summary["per_domain"][split] = {d: sum(v.visual.domain == d for v in videos) for d in DOMAINS}
        kinds = ["+".join(p for p in k.split("+") if p not in ("partial", "paraphrase"))
                 for v in videos for k in v.caption_kinds]
        summary["caption_kinds"][split] = {k: kinds.count(k) for k in sorted(set(kinds))}
        card_videos[split] = [{"video_id": f"{v.visual.domain}/{v.name}", "group": v.group,
                               "visual_key": f"{v.visual.bg_seed:08x}{v.visual.noise_seed:08x}",
                               "caption_kinds": v.caption_kinds,
                               "objects": [object_attributes(g) for g in v.visual.objects],
                               "texts": [{"text": tp.text, "kind": tp.kind, "salient": tp.salient} for tp in v.texts]}
                              for v in videos]
    card = {"generator": GENERATOR, "format_version": 1, "config": dataclasses.asdict(cfg),
            "versions": {"numpy": np.__version__, "Pillow": PIL.__version__, "av": av.__version__,
                         "ffmpeg": {k: ".".join(map(str, v)) for k, v in av.library_versions.items()},
                         "matplotlib (fonts)": matplotlib.__version__},
            "codec": "libx264" if "libx264" in av.codecs_available else "mpeg4",
            "summary": {k: summary[k] for k in ("videos", "captions", "per_domain", "caption_kinds")},
            "videos": card_videos}
    (root / CARD_NAME).write_text(json.dumps(card, indent=1))
    summary["seconds"] = round(time.perf_counter() - start, 2)
    return summary
