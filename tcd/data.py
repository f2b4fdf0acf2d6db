"""The study's data view: a TextVR-layout split joined with its frame cache and window-OCR captions.

Every corpus kind (SynthTextVR now; real TextVR, M4-ViteVQA, MSR-VTT, a user's folder later) is a
TextVR-layout root, so this module is the one place where frames, OCR text and captions meet the
model. A video that could not be decoded is left out of the model's view *visibly*: it is listed in
``SplitData.skipped`` with its reason, so the report can count it, and training never sees it. It stays
in the evaluation gallery (``SplitData.gallery``, every video of the split in annotation order), where
:func:`tcd.eval.score_gallery` scores it below every real score: dropping it (and its captions) would
turn TextVR's 2,727-way protocol into an easier, smaller one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tcd.captioner import instance_tokens, keys_past_end, window_captions
from tcd.config import CARD_NAME, Params
from tcd.corpus.textvr import VideoEntry, captions_and_targets, load_split, read_tracks, source_video
from tcd.corpus.textvr import videos_dir as textvr_videos_dir
from tcd.video import VIDEO_FIX, FrameRows, load_frame_cache, probe

SPLITS = ("train", "test")       # the annotation files (and frame caches, captions files)
VIEWS = {"train": "train", "val": "train", "test": "test"}   # the study's splits -> the annotation split each reads


def validation_videos(entries: Sequence[VideoEntry], fraction: float, seed: int,
                      groups: Mapping[str, str] | None = None) -> tuple[list[str], list[str]]:
    """Split training videos into ``(train_ids, val_ids)``, deterministically, in the domains' own proportions,
    holding out whole groups.

    round(fraction x N) videos (at least one) are held out: each domain's videos are shuffled by one
    ``numpy.random.default_rng(seed)`` (domains in sorted order) and each domain fills its :func:`domain_quotas`
    with whole groups (``groups``: video id -> group key; a video without one is its own group), taken in the order
    their first video comes in the shuffle (a group of k videos is k times as likely to come early as a single
    video), skipping a group too large for what the quota has left (a domain whose every group is larger than its
    quota gives its smallest group). So validation has the training split's mix of
    domains and the test gallery's hard negatives (clips of one source video, SynthTextVR's groups: the text told
    apart only by reading it), and no video trained on shares its source with a validation video.
    Both lists keep annotation order. Whole videos are held out, so no caption of a validation video is trained on.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    groups = groups or {}
    rng = np.random.default_rng(seed)
    units_by_domain = []
    for domain in sorted({e.domain for e in entries}):
        ids = [e.video_id for e in entries if e.domain == domain]
        units: dict[str, list[str]] = {}
        for i in rng.permutation(len(ids)):
            units.setdefault(groups.get(ids[i], ids[i]), []).append(ids[i])
        units_by_domain.append(list(units.values()))
    quotas = domain_quotas([sum(map(len, units)) for units in units_by_domain],
                           max(1, round(fraction * len(entries))))
    held: set[str] = set()
    for units, quota in zip(units_by_domain, quotas):
        fitting, taken = [], 0
        for unit in units:
            if taken + len(unit) <= quota:
                fitting.append(unit)
                taken += len(unit)
        if quota and not fitting:   # every group larger than the quota: its smallest, rather than none
            fitting = [min(units, key=len)]
        held.update(v for unit in fitting for v in unit)
    return [e.video_id for e in entries if e.video_id not in held], [e.video_id for e in entries if e.video_id in held]


def card_groups(corpus: str | Path, split: str) -> dict[str, str | None] | None:
    """video id -> its SynthTextVR hard-negative group (None: in none), from the corpus's card (SYNTH_CARD.json);
    None for a corpus without a card (a real one)."""
    card = Path(corpus) / CARD_NAME
    if not card.is_file():
        return None
    return {v["video_id"]: v.get("group") or None for v in json.loads(card.read_text())["videos"].get(split, [])}


def video_groups(corpus: str | Path, split: str, entries: Sequence[VideoEntry]) -> dict[str, str]:
    """video id -> the group it is held out with (:func:`validation_videos`): SynthTextVR's hard-negative group from
    its card (:func:`card_groups`), else the source video the clip was cut from (:func:`tcd.corpus.textvr.source_video`:
    TextVR's clips of one video share their scene text)."""
    named = card_groups(corpus, split) or {}
    return {e.video_id: f"synth:{named[e.video_id]}" if named.get(e.video_id) else f"source:{source_video(e.path)}"
            for e in entries}


def domain_quotas(sizes: Sequence[int], total: int) -> list[int]:
    """``total`` split over domains of ``sizes`` in proportion (largest remainders, ties to the earlier domain);
    then every domain with a video gets at least one while ``total`` allows, taken from the largest quota."""
    exact = [total * size / sum(sizes) for size in sizes]
    quotas = [int(x) for x in exact]
    for i in sorted(range(len(sizes)), key=lambda i: quotas[i] - exact[i])[: total - sum(quotas)]:
        quotas[i] += 1
    for i, size in enumerate(sizes):
        largest = max(range(len(quotas)), key=quotas.__getitem__)
        if size and not quotas[i] and quotas[largest] > 1:
            quotas[largest], quotas[i] = quotas[largest] - 1, 1
    return quotas


def split_entries(params: Params, split: str) -> list[VideoEntry]:
    """The videos of one of the study's splits, in annotation order: ``test``; ``train`` without the
    ``train.val_fraction`` of it held out (:func:`validation_videos`, drawn with ``seed``); ``val``, those alone."""
    if split not in VIEWS:
        raise ValueError(f"split {split!r}: expected one of {', '.join(VIEWS)}")
    entries = load_split(params.paths.corpus, VIEWS[split])
    if split == "test" or (split == "train" and params.train.val_fraction == 0):
        return entries
    if params.train.val_fraction == 0:
        raise ValueError("no validation split: train.val_fraction is 0 in the params")
    _, val = validation_videos(entries, params.train.val_fraction, params.seed,
                               video_groups(params.paths.corpus, VIEWS[split], entries))
    held = set(val)
    return [e for e in entries if (e.video_id in held) == (split == "val")]


def frame_cache_path(params: Params, split: str) -> Path:
    """The cache folder of ``split``'s annotation split (val reads train's): see `tcd.video.build_frame_cache`."""
    return Path(params.paths.work) / "frames" / VIEWS.get(split, split)


def ocr_tracks_dir(params: Params) -> Path:
    """Kwai-schema track files for the configured ``ocr.source``."""
    if params.ocr.source == "provided":
        return Path(params.paths.corpus) / "Kwai_VideoOCR"
    return Path(params.paths.work) / "ocr" / "easyocr"


def captions_path(params: Params, split: str) -> Path:
    return Path(params.paths.work) / "captions" / f"{VIEWS.get(split, split)}.json"


def build_captions(params: Params, split: str) -> dict:
    """Window-OCR captions and StarVR instance words for every video of ``split``.

    Returns the JSON-ready document the captions stage writes: per video, the N window captions
    with their mask, the instance words with their 12-d geometry, and the track count. A video
    whose track file is missing (OCR skipped it, or the corpus has none) gets empty windows and is
    listed under ``missing_tracks`` so the count shows in the report; one whose track file does not
    parse gets empty windows too and is listed under ``unreadable_tracks`` (video id -> the error
    naming the file and the fix; the key is there only when some file failed). A video that does not
    probe gets ``{"error": reason}`` (the frame cache skips it too).
    """
    entries = load_split(params.paths.corpus, VIEWS.get(split, split))
    tracks_dir = ocr_tracks_dir(params)
    videos_dir = textvr_videos_dir(params.paths.corpus)
    n = params.frames.num_frames
    videos, missing, unreadable = {}, [], {}
    for entry in entries:
        tracks, problem = read_tracks(tracks_dir / entry.ocr_path)
        if problem == "missing":
            missing.append(entry.video_id)
        elif problem is not None:
            unreadable[entry.video_id] = problem
        try:
            info = probe(videos_dir / entry.path)
        except ValueError as err:  # corrupt video: the frame cache skips it too
            videos[entry.video_id] = {"error": f"{err}; {VIDEO_FIX}"}
            continue
        windows, mask = window_captions(tracks, info.num_frames, n, params.windows.xi, params.windows.max_words)
        words, geometry = instance_tokens(tracks, info.num_frames, info.width, info.height, params.windows.instance_words)
        videos[entry.video_id] = {
            "windows": windows,
            "mask": [bool(m) for m in mask],
            "words": words,
            "geometry": np.round(geometry, 5).tolist(),
            "n_tracks": len(tracks),
            "n_keys_past_end": keys_past_end(tracks, info.num_frames),   # OCR box keys beyond the clip: counted, unused
        }
    return {
        "split": split,
        "ocr_source": params.ocr.source,
        "xi": params.windows.xi,
        "num_windows": n,
        "missing_tracks": missing,
        **({"unreadable_tracks": unreadable} if unreadable else {}),   # absent when none: clean outputs unchanged
        "keys_past_end": sum(v.get("n_keys_past_end", 0) for v in videos.values()),
        "videos": videos,
    }


@dataclass
class SplitData:
    """One split, aligned row by row: frames, OCR windows, instance words, and the captions."""

    entries: list[VideoEntry]
    frames: FrameRows  # uint8 [V, N, S, S, 3], read from disk per batch (indexing returns an array)
    frame_mask: np.ndarray  # bool [V, N]
    windows: list[list[str]]
    window_mask: np.ndarray  # bool [V, N]
    words: list[list[str]]
    geometry: list[np.ndarray]  # float32 [k_v, 12]
    captions: list[str]  # every caption of the kept videos, in file order
    caption_video: np.ndarray  # caption -> row
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (video_id, reason)
    gallery: list[VideoEntry] = field(default_factory=list)  # every video of the split, skipped or not (default: entries)

    @property
    def video_ids(self) -> list[str]:
        return [e.video_id for e in self.entries]

    @property
    def domains(self) -> list[str]:
        return [e.domain for e in self.entries]

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def gallery_rows(self) -> np.ndarray:
        """Each gallery video's row in this view (increasing), -1 for a skipped one: it keeps its column."""
        rows = {e.video_id: r for r, e in enumerate(self.entries)}
        return np.array([rows.get(e.video_id, -1) for e in self.gallery or self.entries], dtype=np.int64)

    def gallery_captions(self) -> tuple[list[str], np.ndarray]:
        """Every caption of every gallery video, in file order, and its video's gallery column: the evaluation's
        queries (a skipped video's captions are text, so they are still asked)."""
        return captions_and_targets(self.gallery or self.entries)

    @property
    def max_words(self) -> int:
        """Instance-word slots that hold every video's words (at least 1, so tensors are never empty)."""
        return max(1, max(len(w) for w in self.words))

    def batch(self, rows, queries: list[str] | None = None, word_slots: int | None = None) -> dict:
        """The model's batch for video ``rows`` (numpy; the model moves it to its device).

        Instance words are padded to ``word_slots`` (default: the most any of these videos has), so
        batches encoded separately can be joined when they share ``word_slots``.
        """
        rows = np.asarray(rows)
        k = word_slots or max(1, max(len(self.words[r]) for r in rows))
        instance_words = [self.words[r][:k] for r in rows]
        geometry = np.zeros((len(rows), k, 12), dtype=np.float32)
        instance_mask = np.zeros((len(rows), k), dtype=bool)
        for i, (r, words) in enumerate(zip(rows, instance_words)):
            geometry[i, : len(words)] = self.geometry[r][: len(words)]
            instance_mask[i, : len(words)] = True
        batch = {
            "frames": self.frames[rows],
            "frame_mask": self.frame_mask[rows],
            "ocr_captions": [self.windows[r] for r in rows],
            "ocr_mask": self.window_mask[rows],
            "instance_words": instance_words,
            "instance_geometry": geometry,
            "instance_mask": instance_mask,
        }
        if queries is not None:
            batch["queries"] = list(queries)
        return batch


def load_split_data(params: Params, split: str, captions: dict | None = None) -> SplitData:
    """Join the split's annotations, frame cache and captions (all written by earlier stages).

    ``captions``: a document from :func:`build_captions` to use instead of the captions stage's
    file (the ablations build captions for their own ξ or OCR source in memory).
    """
    entries = split_entries(params, split)
    cache = load_frame_cache(frame_cache_path(params, split))
    if captions is None:
        if not captions_path(params, split).is_file():
            raise FileNotFoundError(f"{captions_path(params, split)}: no captions file; run the captions stage "
                                    "(dvc repro captions)")
        with open(captions_path(params, split)) as f:
            captions = json.load(f)
    doc = captions
    if doc["num_windows"] != params.frames.num_frames:
        raise ValueError(
            f"{captions_path(params, split)} has {doc['num_windows']} windows but frames.num_frames is "
            f"{params.frames.num_frames}: re-run the captions stage"
        )
    kept, rows, skipped = [], [], []
    cache_rows = {video_id: row for row, video_id in enumerate(cache.video_ids)}
    for entry in entries:
        info = doc["videos"].get(entry.video_id)
        row = cache_rows.get(entry.video_id)
        if row is None or info is None:
            skipped.append((entry.video_id, "missing from the frame cache or captions file: re-run their stages"))
        elif "error" in info or not cache.mask[row].any():
            skipped.append((entry.video_id, info.get("error", "undecodable video (frame cache)")))
        else:
            kept.append(entry)
            rows.append(row)
    if not kept:
        raise ValueError(f"no usable videos in split {split!r} of {params.paths.corpus}")
    frames = cache.rows(rows)   # a view: rows are read per batch, never the whole split
    infos = [doc["videos"][e.video_id] for e in kept]
    captions, caption_video = [], []
    for row, entry in enumerate(kept):
        captions.extend(entry.captions)
        caption_video.extend([row] * len(entry.captions))
    return SplitData(
        entries=kept,
        frames=frames,
        frame_mask=cache.mask[rows],
        windows=[i["windows"] for i in infos],
        window_mask=np.array([i["mask"] for i in infos], dtype=bool),
        words=[i["words"] for i in infos],
        geometry=[np.asarray(i["geometry"], dtype=np.float32).reshape(-1, 12) for i in infos],
        captions=captions,
        caption_video=np.asarray(caption_video, dtype=np.int64),
        skipped=skipped,
        gallery=entries,
    )


def corpus_card(root: str | Path) -> "pd.DataFrame":
    """One row per video of every split present under ``root``: domain, captions, caption words and
    ground-truth text instances (tracks in ``Kwai_VideoOCR``; 0 when a video has no track file). A track file that
    does not parse counts as none (has_track_file False) and adds a ``track_file_error`` column (absent otherwise)
    with the error naming the file and the fix."""
    import pandas as pd

    rows = []
    for split in SPLITS:
        if not (Path(root) / f"TextVR_{split}.json").exists():
            continue
        for entry in load_split(root, split):
            tracks, problem = read_tracks(Path(root) / "Kwai_VideoOCR" / entry.ocr_path)
            rows.append(
                {
                    "split": split,
                    "video_id": entry.video_id,
                    "domain": entry.domain,
                    "n_captions": len(entry.captions),
                    "caption_words": float(np.mean([len(c.split()) for c in entry.captions])),
                    "text_instances": len(tracks),
                    "has_track_file": problem is None,
                    **({"track_file_error": problem} if problem not in (None, "missing") else {}),
                }
            )
    return pd.DataFrame(rows)
