# %% [markdown]
# # 03 · Training one variant
#
# Every row of the paper's tables is a *configuration* of one model family (`tcd/model/`): the
# variant name picks the video pooling (meanP, seqTransf, X-Pool, TCD's text-condition) and the OCR
# branch (none, window-OCR captions, StarVR's per-word tokens); TCD adds HSC, co-attention and CTCD.
# All variants share the encoders, the data and this training loop: one caption per video per
# epoch, symmetric InfoNCE over the in-batch scores (+ λ·L_hsc for TCD). Each seed in
# `train.seeds` is one run; checkpoints and per-step histories go to
# `artifacts/models/<variant>/seed<k>/`.

# %% tags=["parameters"]
params_file = "params.yaml"  # the study's knobs; DVC tracks the sections this stage reads
variant = "tcd"  # one of tcd.model.config.VARIANTS; DVC runs one copy of this notebook per train.variants entry

# %%
from pathlib import Path

import pandas as pd
import torch

from tcd import viz
from tcd.config import load_params, model_config
from tcd.data import load_split_data
from tcd.train import default_device, train_run

params = load_params(params_file, {"model.variant": variant})
torch.set_num_threads(params.train.threads or torch.get_num_threads())
config = model_config(params)
print(f"variant {variant}: parts {config.parts}, switches {config.switches}; device {default_device()}, {torch.get_num_threads()} threads")

# %%
train = load_split_data(params, "train")
print(f"{len(train)} videos, {len(train.captions)} captions; skipped: {train.skipped or 'none'}")

# %%
out_dir = Path(params.paths.work) / "models" / variant
histories, summaries = {}, []
for seed in params.train.seeds:
    _, histories[seed], summary = train_run(params, seed, train, out_dir / f"seed{seed}", progress=False)
    summaries.append(summary)
pd.DataFrame(summaries)

# %% [markdown]
# ## The loss curves
# One colour per seed: every step thin, the epoch means thick. A loss still falling at the last epoch
# means the run stopped before converging (more epochs would likely lower it, and may change R@1); a flat
# last epoch means more of the same training would add little. The line under the figure says which, from
# the epoch means (`viz.loss_summary`).

# %%
runs = {(variant, s): h for s, h in histories.items()}
viz.training_curves(runs, ncols=1);

# %%
for r in viz.loss_summary(runs).itertuples():
    verdict = "still falling: the run stopped before converging" if r.still_falling else "flat or rising: converged, or stuck"
    print(f"{r.variant}: mean loss {r.first_epoch:.3f} (epoch 1) → {r.last_epoch:.3f} (epoch {r.epochs}), mean of {r.seeds} seed(s); "
          f"last epoch {r.last_change:+.1f} % against the one before, falling in {r.falling_seeds}/{r.seeds} seeds: {verdict}")
