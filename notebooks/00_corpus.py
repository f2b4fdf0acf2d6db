# %% [markdown]
# # 00 · The corpus card and the frame cache
#
# The study runs on any corpus in **TextVR's on-disk layout** (`TextVR_{train,test}.json`,
# `Videos/<Domain>/<name>.mp4`, `Kwai_VideoOCR/<Domain>/<name>.json`). By default that is
# *SynthTextVR*, generated deterministically by `tcd data synth` and pinned by `data.dvc`; a real
# TextVR download drops in by pointing `paths.corpus` at it.
#
# This stage describes the corpus (the dataset card) and decodes the N frames per video that the
# model sees (one per OCR window) into a frame cache, so no later stage decodes video again.

# %% tags=["parameters"]
params_file = "params.yaml"  # the study's knobs; DVC tracks the sections this stage reads

# %%
import json
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from tcd import viz
from tcd.config import load_params
from tcd.corpus.textvr import load_split, read_tracks, videos_dir
from tcd.data import SPLITS, corpus_card, frame_cache_path
from tcd.video import build_frame_cache, read_frames, segment_centers, probe

params = load_params(params_file)
corpus = Path(params.paths.corpus)
reports = Path(params.paths.reports)

# %% [markdown]
# ## The dataset card
# One row per video; the tables below summarise it per domain and split.

# %%
card = corpus_card(corpus)
(reports / "tables").mkdir(parents=True, exist_ok=True)
card.to_csv(reports / "tables" / "corpus_card.csv", index=False)
summary = card.groupby(["domain", "split"]).agg(
    videos=("video_id", "size"), captions=("n_captions", "sum"),
    text_instances_per_video=("text_instances", "mean"), caption_words=("caption_words", "mean"),
).round(2).unstack("split")
summary

# %%
totals = card.groupby("split").agg(videos=("video_id", "size"), captions=("n_captions", "sum"),
                                   no_text_videos=("text_instances", lambda s: int((s == 0).sum())),
                                   missing_track_files=("has_track_file", lambda s: int((~s).sum())))
totals

# %%
viz.save(viz.corpus_overview(card), reports / "figures" / "corpus_overview.png");

# %% [markdown]
# ## The captions beside TextVR's
# SynthTextVR's caption knobs (`corpus:` in `params.yaml`) were calibrated to what TextVR's test captions do,
# measured by `tcd.corpus.textvr.caption_statistics` on all 2,727 real entries of `TextVR_test.json`
# (`tests/fixtures/textvr`): mean words per caption, share quoting an upper-case token, share with a digit,
# share quoting no scene text (TextVR's Activity domain, 46% of its test split, almost never does), and the
# share of quoted words that are common English words (shared by many videos, so a string match cannot single
# one out). A real corpus is measured the same way.

# %%
from tcd.corpus.synth import TEXTVR_CAPTIONS
from tcd.corpus.textvr import caption_statistics, wordpiece_vocabulary

vocabulary = wordpiece_vocabulary()
pd.DataFrame({"TextVR test (2,727 real captions)": TEXTVR_CAPTIONS} | {
    f"this corpus, {split}": caption_statistics([c for e in load_split(corpus, split) for c in e.captions], vocabulary)
    for split in SPLITS}).round(2)

# %% [markdown]
# ## Example frames, with the ground-truth text tracks
# One middle frame from a test video of each domain; green quads are the `Kwai_VideoOCR` tracks.

# %%
import textwrap

test = load_split(corpus, "test")
examples = list({e.domain: e for e in test}.values())
images, titles, track_sets, frame_ids = [], [], [], []
for entry in examples:
    try:
        info = probe(videos_dir(corpus) / entry.path)
        middle = info.num_frames // 2
        image = read_frames(videos_dir(corpus) / entry.path, [middle])[0]
    except ValueError as err:  # an undecodable video shows nothing (the frame cache below lists it)
        print(f"no example from {entry.video_id}: {err}")
        continue
    images.append(image)
    track_sets.append(read_tracks(corpus / "Kwai_VideoOCR" / entry.ocr_path)[0])  # [] when missing or unreadable
    frame_ids.append(middle)
    titles.append(f"{entry.domain}\n" + textwrap.fill(textwrap.shorten(entry.captions[0], 90), 50))  # wrapped: long ones run into the neighbour's
fig, axes = viz.frame_grid(images, titles)
for ax, tracks, f in zip(axes.flat, track_sets, frame_ids):
    viz.draw_tracks(ax, tracks, f)
viz.box_legend(fig, {"ground-truth text track (Kwai_VideoOCR), with its text": "lime"})
viz.save(fig, reports / "figures" / "corpus_examples.png");

# %% [markdown]
# ## The frame cache
# `frames.num_frames` segment-centre frames per video at `frames.size`² pixels, decoded by `frames.workers` processes into `<work>/frames/<split>/frames.npy` (uint8, read a batch at a time by later stages, never whole). An undecodable video keeps its row with an all-False mask and is listed here, never dropped silently.

# %%
cache_summaries = {}
for split in SPLITS:
    cache_summaries[split] = build_frame_cache(corpus, load_split(corpus, split), params.frames.num_frames,
                                               params.frames.size, frame_cache_path(params, split),
                                               fit=params.frames.fit, workers=params.frames.workers)
pd.DataFrame([{k: v for k, v in s.items() if k != "skipped"} | {"skipped": len(s["skipped"])}
              for s in cache_summaries.values()], index=list(cache_summaries))

# %%
skipped = [dict(split=split, **row) for split, s in cache_summaries.items() for row in s["skipped"]]
pd.DataFrame(skipped, columns=["split", "video_id", "reason"])
