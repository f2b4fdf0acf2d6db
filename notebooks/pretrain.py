# %% [markdown]
# # Pretraining the tiny vision tower
#
# Every model in the paper starts from CLIP, pretrained on 400M image-text pairs: its frame features already
# mean "a red car", "two people", "moving left" before it sees TextVR. The tiny preset trained from scratch on
# 216 videos stays near chance on the captions that quote no scene text, so TCD's ideas (combining frames with
# OCR windows) would have nothing to combine. This stage gives the tiny towers what CLIP's pretraining gives:
# contrastive training of the vision tower with the text tower and both projections (a `clip4clip` model) on
# procedurally generated clip–description pairs (`tcd.pretrain`). The clips come from the generator's visual
# world with their own seed (`pretrain.seed`), never from SynthTextVR's videos; they carry scene text that no
# description mentions, so the tower is never taught to read. Every variant then starts its vision tower (and
# text projection) from this checkpoint (`model.vision_init: pretrained`; `scratch` is the old behaviour).
#
# Beside the main comparison this stage writes two reference rows: **zero-shot** (this checkpoint on the test
# captions, no fine-tuning: CLIP4Clip's tables open with CLIP's zero-shot row) and the **visual oracle**
# (each caption's visual phrases matched against the generator's record of each test video: the ceiling for
# vision, as ground-truth tracks are for text).

# %% tags=["parameters"]
params_file = "params.yaml"  # the study's knobs; DVC tracks the sections this stage reads

# %%
import pandas as pd
import torch

from tcd import viz
from tcd.config import load_params
from tcd.pretrain import VISUAL_ORACLE, ZERO_SHOT, evaluate_reference_rows, make_pairs, run_pretraining

params = load_params(params_file)
torch.set_num_threads(params.train.threads or torch.get_num_threads())
params.pretrain

# %% [markdown]
# A few of the generated pairs (the sampled frames of each clip, left to right, and its description):

# %%
sample = make_pairs(params, n=4, workers=1)
viz.pretrain_examples(sample.frames, sample.captions);

# %% [markdown]
# ## Training
# The study's training loop (`tcd.train.train_model`: symmetric InfoNCE over in-batch negatives, AdamW, cosine
# schedule) on the generated pairs. `heldout` is the checkpoint's zero-shot retrieval on `pretrain.heldout_clips`
# generated clips it never saw (every sampled frame, mean-pooled as in the study): the validation the pretraining's
# knobs are chosen on, never SynthTextVR's test videos.

# %%
summary = run_pretraining(params, progress=False)
summary

# %%
history = pd.read_csv(f"{params.paths.work}/pretrain/history.csv")
viz.training_curves({("pretrain", params.pretrain.seed): history}, ncols=1);

# %% [markdown]
# ## Zero-shot and the visual oracle on the test split
# T2V and V2T with the evaluation protocol of every other row. The oracle knows each video's objects (count,
# colour, shape, direction) and scene, and nothing of its text: on captions that only quote text it can match
# the scene alone.

# %%
rows = evaluate_reference_rows(params)
pd.DataFrame({name: {f"{d} {k}": r["metrics"][d][k] for d in ("t2v", "v2t") for k in ("R@1", "R@5", "R@10", "MnR")}
              for name, r in rows.items()}).T.round(1)
