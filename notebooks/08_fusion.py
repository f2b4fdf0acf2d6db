# %% [markdown]
# # 08 · A model plus the string match: late fusion
#
# The string match (`07_lexical`) and a learned model can be wrong on different captions: the match fails when
# the quoted text is shared by several videos or misread, the model when a rare quoted token carries the answer.
# Late fusion is weighted reciprocal-rank fusion, per caption: `(1 − w)/(60 + rank_model) + w/(60 + rank_BM25)`
# (`tcd.lexical.fuse`; ranks 1-based, ties averaged; a video sharing no word with the caption gets nothing from
# BM25; an undecodable video stays last). Ranks, not scores: a video's share depends only on the videos ranked
# above it, so a weight means the same on the few validation videos as on the test gallery or TextVR's 2,727,
# which per-caption z-scores did not (one BM25 hit is √(N − 1) standard deviations above the rest).
# The weight `w` is chosen per seed on the **validation split**: training videos held out of every training run
# (`train.val_fraction`, `tcd.data.split_entries`), never on test. The test curve below is shown for the
# record only: the gap between its best weight and the chosen one is what choosing on test would have flattered.

# %% tags=["parameters"]
params_file = "params.yaml"  # the study's knobs; DVC tracks the sections this stage reads
variant = "tcd"

# %%
import torch

from tcd import viz
from tcd.config import load_params
from tcd.lexical import evaluate_fusion, fused_name

params = load_params(params_file, {"model.variant": variant})
torch.set_num_threads(params.train.threads or torch.get_num_threads())
result = evaluate_fusion(params, variant)
print(f"{fused_name(variant)}: weights chosen on {result['val_videos']} validation videos "
      f"({result['val_captions']} captions); test gallery {result['metrics']['n_videos']} videos")
result["summary"].round(2)

# %% [markdown]
# The chosen weight per seed, and T2V R@1 along the grid on validation (which chose) and on test (not used):

# %%
curve = result["curve"]
chosen = curve[curve.chosen].pivot_table(index="seed", columns="split", values="R@1")
chosen.insert(0, "weight", curve[curve.chosen & (curve.split == "val")].set_index("seed").weight)
chosen.rename(columns={"val": "val R@1", "test": "test R@1"}).round(1)

# %%
viz.fusion_curves(curve, title=fused_name(variant));

# %% [markdown]
# Text→video per domain, mean over seeds:

# %%
result["per_domain"].round(1)
