# %% [markdown]
# # Search · the study's TCD on its own test videos, every hit explained
#
# `tcd index` encodes each video once (the model's query-independent state: frame and OCR-window features, plus
# the OCR words for the string match); `tcd search` ranks the videos for a query in two stages (`tcd.search`):
# stage 1 shortlists `search.shortlist` videos by inner products with the head's own part vectors at uniform
# text-condition (computed once per video) and by BM25, stage 2 runs TCD's full text-conditioned head on them and late-fuses it with the string match at the weight the
# fusion stage chose on validation. Every hit shows its score's parts (S_TV, S_TO, S_TH as in the paper's
# Figs. 6–7, the model's S, and the string match apart) and the OCR window that matched best.
#
# Here the index is the study's test split, read with the study's own tracks: searching with each test caption
# must then find its video about as often as the fusion stage's R@10 says (same checkpoint, same fusion).

# %% tags=["parameters"]
params_file = "params.yaml"  # the study's knobs; DVC tracks the sections this stage reads
variant = "tcd"
seed = 0
queries = []        # the gallery's queries; [] = the first `gallery` test captions quoting text, and each misspelt
gallery = 4
k = 5               # hits per query in the gallery
out_dir = "reports/figures/search"

# %%
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from tcd import viz
from tcd.config import load_params
from tcd.corpus.textvr import load_split
from tcd.data import ocr_tracks_dir
from tcd.eval import read_evaluation
from tcd.lexical import fused_name
from tcd.search import build_index, fusion_weight, open_index, search
from tcd.search.evaluate import found_at, misread_table, misspelt_caption
from tcd.search.explain import hits_figure
from tcd.search.index import settings_from_params

params = load_params(params_file, {"model.variant": variant})
torch.set_num_threads(params.train.threads or torch.get_num_threads())
work, reports = Path(params.paths.work), Path(params.paths.reports)
checkpoint = work / "models" / variant / f"seed{seed}" / "model.pt"
index_dir = work / "search" / f"{variant}-seed{seed}"
shutil.rmtree(index_dir, ignore_errors=True)   # the stage rebuilds its index from scratch
test = load_split(params.paths.corpus, "test")
summary = build_index(params.paths.corpus, checkpoint, index_dir, settings_from_params(params),
                      tracks=ocr_tracks_dir(params), entries=test, progress=False)
index = open_index(index_dir)
weight = fusion_weight(reports / "tables" / "fusion" / f"{variant}.csv", seed)
print(f"{summary['videos']} videos indexed ({len(summary['skipped'])} skipped), "
      f"{summary['bytes_per_video']['tensors']} bytes of tensors per video; string-match weight {weight}")

# %% [markdown]
# ## Does search find what the evaluation finds?
# Each test caption is a query; its video should be in the top 10 as often as the fused variant's T2V R@10 for
# this seed. With exact words (`fuzzy` off, as the fusion stage matches) and an index no larger than the
# shortlist the ranking is the fusion stage's own; with `search.fuzzy` misreads match too.

# %%
rows = {v["id"]: r for r, v in enumerate(index.videos)}
captions = [(c, rows[e.video_id]) for e in test for c in e.captions if e.video_id in rows]
texts, targets = [c for c, _ in captions], [r for _, r in captions]
fused_eval = read_evaluation(reports, fused_name(variant))["per_seed"][str(seed)]["t2v"]["R@10"]
recall = pd.DataFrame([
    {"search": "exact words (the fusion stage's match)", "R@10": 100 * found_at(index, texts, targets, 10, weight,
                                                                                params.search.shortlist, None).mean()},
    {"search": f"fuzzy {params.search.fuzzy} (search's default)",
     "R@10": 100 * found_at(index, texts, targets, 10, weight, params.search.shortlist, params.search.fuzzy).mean()},
    {"search": f"evaluation: {fused_name(variant)}, seed {seed}", "R@10": fused_eval}])
recall.round(2)

# %% [markdown]
# ## Misread scene text
# Captions that quote a word of five letters or more, the word misspelt the way OCR misreads (GRILL → GRlLL,
# TESCO → TESC0, `tcd.search.evaluate.misspell`): found in the top 10 as written, misspelt with exact words only,
# and misspelt with fuzzy matching.

# %%
misread = misread_table(index, texts, targets, 10, weight, params.search.shortlist, params.search.fuzzy or 0.8)
Path(out_dir).mkdir(parents=True, exist_ok=True)
(Path(out_dir) / "summary.json").write_text(json.dumps(
    {"index": summary | {"skipped": len(summary["skipped"])}, "weight": weight, "recall": recall.to_dict("records"),
     "misread": misread}, indent=1))
pd.DataFrame([{k: v for k, v in misread.items() if k != "examples"}])

# %% [markdown]
# ## The gallery: any query, its hits explained (the paper's Figs. 6–7)

# %%
if not queries:
    quoting = [c for c in texts if misspelt_caption(c) is not None][:gallery]
    queries = [q for c in quoting for q in (c, misspelt_caption(c))]
results = search(index, queries, k=k, weight=weight, k_shortlist=params.search.shortlist, fuzzy=params.search.fuzzy,
                 thumbnails=Path(out_dir) / "thumbnails", thumbnail_frames=params.search.thumbnail_frames)
(Path(out_dir) / "gallery.json").write_text(json.dumps(
    [{"query": q, "hits": [h.to_json() for h in hits]} for q, hits in zip(queries, results)], indent=1))
for n, (query, hits) in enumerate(zip(queries, results)):
    viz.save(hits_figure(query, hits), Path(out_dir) / f"query_{n:02d}.png")

# %% [markdown]
# ## Try it
# Type a query (run this notebook in JupyterLab: `make lab`); the hits appear below with their frame strips.

# %%
import ipywidgets as widgets
from IPython.display import display

box = widgets.Text(placeholder="the sign says GRILL", description="query", continuous_update=False)
shown = widgets.Output()


def _on_query(change):
    shown.clear_output()
    with shown:
        if box.value.strip():
            hits = search(index, [box.value], k=k, weight=weight, k_shortlist=params.search.shortlist,
                          fuzzy=params.search.fuzzy, thumbnails=Path(out_dir) / "thumbnails")[0]
            display(hits_figure(box.value, hits))


box.observe(_on_query, names="value")
display(box, shown)
