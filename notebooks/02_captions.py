# %% [markdown]
# # 02 · Window-OCR captions
#
# TCD's window-OCR captioner: the video is cut into N non-overlapping windows of length Δt, one
# centred on each sampled frame; all scene text visible inside a window is merged into **one OCR
# caption** (deduplicated, in reading order, capped at `windows.max_words` words). The OCR side thus
# has N features per video instead of one per text instance. `windows.xi` shrinks each window to
# ξΔt about its centre (the ξ ablation). An empty window is an explicit empty caption with mask
# False. For the StarVR baseline we also keep the per-instance word list (top 200 words by OCR
# score) with each word's 12-d box/time geometry.

# %% tags=["parameters"]
params_file = "params.yaml"  # the study's knobs; DVC tracks the sections this stage reads

# %%
import json
from pathlib import Path

import pandas as pd

from tcd.config import load_params
from tcd.corpus.textvr import load_split, read_tracks, videos_dir
from tcd import viz
from tcd.captioner import token_reduction, xi_sensitivity
from tcd.data import SPLITS, build_captions, captions_path, ocr_tracks_dir
from tcd.video import probe

params = load_params(params_file)
corpus = Path(params.paths.corpus)
print("OCR source:", params.ocr.source, "->", ocr_tracks_dir(params), "| xi =", params.windows.xi)

# %%
docs = {}
for split in SPLITS:
    docs[split] = build_captions(params, split)
    path = captions_path(params, split)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(docs[split]))
pd.DataFrame({split: {"videos": len(d["videos"]), "missing_track_files": len(d["missing_tracks"]),
                      "unreadable_track_files": len(d.get("unreadable_tracks", {})),  # each named in the captions file
                      "undecodable": sum("error" in v for v in d["videos"].values()),
                      "ocr_keys_past_the_clip_end": d["keys_past_end"]}
              for split, d in docs.items()})

# %% [markdown]
# ## One video's window captions

# %%
example_id, example = next((k, v) for k, v in docs["test"]["videos"].items() if "error" not in v and sum(v["mask"]) >= 3)
entry = next(e for e in load_split(corpus, "test") if e.video_id == example_id)
print("query:", entry.captions[0])
pd.DataFrame({"window": range(len(example["windows"])), "caption": example["windows"], "mask": example["mask"]})

# %% [markdown]
# ## Token reduction: N text instances → one caption per window
# Per video: OCR tracks (instances), StarVR word tokens, non-empty windows (out of N).

# %%
rows = []
tracks_dir = ocr_tracks_dir(params)
for split in SPLITS:
    for entry in load_split(corpus, split):
        path = tracks_dir / entry.ocr_path
        if entry.video_id not in docs[split]["videos"] or "error" in docs[split]["videos"][entry.video_id]:
            continue
        tracks = read_tracks(path)[0]  # [] when missing or unreadable (counted above)
        n_frames = probe(videos_dir(corpus) / entry.path).num_frames
        n_inst, n_words, n_windows = token_reduction(tracks, n_frames, params.frames.num_frames, params.windows.xi,
                                                     params.windows.instance_words)
        rows.append({"split": split, "instances": n_inst, "starvr_words": n_words, "nonempty_windows": n_windows})
reduction = pd.DataFrame(rows)
reduction.groupby("split").agg(["mean", "max"]).round(2)

# %% [markdown]
# ## What ξ changes
# The ξ ablation (Table A2) shrinks each window to ξΔt about its centre. It can only change a caption
# through a text whose time span touches the whole window but not its shrunken middle, so it needs tracks
# with a finer time resolution than the windows. Ground-truth tracks have frame-exact spans (8 fps); EasyOCR
# tracks span whole sampling intervals (`ocr.fps` samples per second, so 1/`ocr.fps` s each). On the test
# split, for both sources: the share of windows whose caption differs from ξ = 1.0, and words per caption.

# %%
def sensitivity(source):
    source_params = load_params(params_file, {"ocr.source": source})
    tracks_dir = ocr_tracks_dir(source_params)
    videos = [(read_tracks(tracks_dir / e.ocr_path)[0], probe(videos_dir(corpus) / e.path).num_frames)
              for e in load_split(corpus, "test") if "error" not in docs["test"]["videos"][e.video_id]]  # decodable ones
    return xi_sensitivity(videos, [0.2, 0.4, 0.6, 0.8, 1.0], params.frames.num_frames, params.windows.max_words)

xi_tables = {"EasyOCR": sensitivity("easyocr"), "ground truth": sensitivity("provided")}
viz.save(viz.xi_captions_figure(xi_tables), Path(params.paths.reports) / "figures" / "xi_captions.png")
pd.concat(xi_tables, names=["tracks"]).droplevel(1).set_index("xi", append=True).round(3)
