# %% [markdown]
# # 04 · Evaluating one variant
#
# Text→video and video→text retrieval on the test split with TextVR's protocol, computed as TextVR's own
# code does (`callsys/TextVR` `model/metric.py`): rows = captions, columns = videos, ties averaged;
# R@1 counts rank 0 only, R@5/R@10 count ranks below 5/10 (see `tcd/eval.py`). The gallery is the whole
# split: a test video that could not be decoded keeps its column, scored below every real score.
# Text-conditioned scores depend on the (query, video) pair, so all-pairs scoring precomputes everything
# query-independent once and then scores in chunks (`tcd/scoring.py`). Each seed's checkpoint is scored;
# the metrics file holds the mean over seeds (`t2v`, `v2t`), their sample standard deviation (`std`,
# ddof = 1, null with one seed) and each seed's numbers (`tcd.eval.evaluate_variant`).

# %% tags=["parameters"]
params_file = "params.yaml"  # the study's knobs; DVC tracks the sections this stage reads
variant = "tcd"

# %%
import torch

from tcd.config import load_params
from tcd.eval import evaluate_variant

params = load_params(params_file, {"model.variant": variant})
torch.set_num_threads(params.train.threads or torch.get_num_threads())
result = evaluate_variant(params, variant)
m = result["metrics"]
print(f"{m['n_videos']} test videos, {m['n_captions']} captions, seeds {m['seeds']}; "
      f"undecodable (scored -inf): {result['skipped'] or 'none'}")
result["summary"].round(2)

# %% [markdown]
# Each seed's numbers:

# %%
result["per_seed"].round(2)

# %% [markdown]
# Text→video per domain (each caption still ranked against the whole gallery), mean over seeds:

# %%
result["per_domain"].round(1)
