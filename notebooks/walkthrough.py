# %% [markdown]
# # TCD, step by step
#
# One test video of the corpus and one query go through a trained TCD checkpoint, one piece at a time:
# OCR tracks → window-OCR captions → features → text-condition → HSC → co-attention and CTCD → the three
# scores and their mean → the ranking. Each step is a short explanation and a picture; every piece is
# computed with the package (`tcd/`), and where the notebook rebuilds something from the model's public
# pieces it checks the result against the model's own forward pass.
#
# Run it after `make study` (it needs the frame cache, the captions and the checkpoints), in JupyterLab or
# with `tcd notebook walkthrough`. Figures go to `<paths.reports>/figures/walkthrough/`.

# %% tags=["parameters"]
params_file = "params.yaml"  # the study's knobs; DVC tracks the sections this stage reads
checkpoint = None  # default: <paths.work>/models/tcd/seed0/model.pt
video_id = None    # default: the first test video with at least 3 non-empty OCR windows, some quoting its caption
query = None       # default: that video's caption

# %%
import re
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from IPython.display import Markdown, display

from tcd import viz
from tcd.captioner import window_captions
from tcd.config import load_params
from tcd.corpus.textvr import read_tracks, videos_dir
from tcd.data import load_split_data, ocr_tracks_dir
from tcd.model import VideoState, build_model, load_model
from tcd.model.condition import text_condition_scales
from tcd.model.attention import masked_softmax, scale_bias, weighted_mean
from tcd.train import to_model_batch
from tcd.video import probe, read_frames, segment_centers

params = load_params(params_file)
torch.set_num_threads(params.train.threads or torch.get_num_threads())
work, figures = Path(params.paths.work), Path(params.paths.reports) / "figures" / "walkthrough"
checkpoint = Path(checkpoint or work / "models" / "tcd" / "seed0" / "model.pt")
model = load_model(checkpoint).eval()
cfg = model.cfg
test = load_split_data(params, "test")
print(f"{checkpoint}: variant {cfg.variant}, switches {cfg.switches}, τ = {cfg.tau}, N = {cfg.num_frames}")


# %%
def words(text):
    return set(re.findall(r"[a-z0-9]{3,}", text.lower()))


def quoted_in_some_windows(r):
    """Whether the caption's words show in some, but not all, of the video's non-empty windows."""
    hits = [bool(words(test.captions[np.flatnonzero(test.caption_video == r)[0]]) & words(c)) for c in test.windows[r] if c]
    return 0 < sum(hits) < len(hits)


if video_id is None:   # enough text, with the quoted text in only part of the video, to make each step visible
    n_text = test.window_mask.sum(1)
    candidates = [r for r in np.flatnonzero(n_text >= 3) if quoted_in_some_windows(r)] or list(np.flatnonzero(n_text >= 3))
    row = int(candidates[0]) if candidates else int(np.argmax(n_text))
else:
    row = test.video_ids.index(video_id)
entry = test.entries[row]
video_id, query = entry.video_id, query or entry.captions[0]
display(Markdown(f"**Video** `{video_id}` ({entry.domain}) · **query** “{query}”"))

# %% [markdown]
# ## 1 · The video and its OCR tracks
#
# Video OCR gives scene-text *tracks*: a text and its box in every frame where it is seen, so each text has a
# time span. The model sees only N frames per video, the centres of N equal segments
# (`tcd.video.segment_centers`); below are those frames at full resolution with the tracks visible in them.

# %%
video_path = videos_dir(params.paths.corpus) / entry.path
info = probe(video_path)
track_file = ocr_tracks_dir(params) / entry.ocr_path
tracks = read_tracks(track_file)[0]  # [] when missing or unreadable
n = params.frames.num_frames
frame_indices = segment_centers(info.num_frames, n)
native = read_frames(video_path, frame_indices)
print(f"{info.num_frames} frames at {info.fps:g} fps, {info.width}x{info.height}; "
      f"{len(tracks)} text tracks from the `{params.ocr.source}` OCR")
pd.DataFrame([{"track": t.track_id, "text": t.text, "score": round(t.score, 2), "first frame": t.first_frame,
               "last frame": t.last_frame} for t in tracks])

# %%
fig, axes = viz.frame_grid(list(native), [f"frame {i} (#{f})" for i, f in enumerate(frame_indices)], ncols=min(n, 4))
for ax, f in zip(axes.flat, frame_indices):
    viz.draw_tracks(ax, tracks, int(f))
viz.save(fig, figures / "01_frames_and_tracks.png");

# %% [markdown]
# ## 2 · Window-OCR captions
#
# TCD cuts the video into N non-overlapping windows of length Δ = frames / N, one centred on each sampled
# frame, and merges *all* text seen inside a window into one OCR caption (reading order, duplicates
# dropped). The OCR side thus has N tokens, aligned with the N frames, instead of one token per text
# instance. A window without text is masked everywhere downstream. The captions stage wrote exactly these
# captions; the cell checks it.

# %%
captions, window_mask = window_captions(tracks, info.num_frames, n, params.windows.xi, params.windows.max_words)
assert captions == test.windows[row], "the captions stage's file differs: re-run `dvc repro`"
fig = viz.window_captioner_figure(native, tracks, info.num_frames, frame_indices, n, params.windows.xi, captions)
viz.save(fig, figures / "02_window_captions.png");

# %% [markdown]
# ## 3 · The window scale ξ
#
# Each window can be shrunk to ξΔ about its centre (the paper's ablation, ξ ∈ {0.2, …, 1.0}). Short windows
# only see text near the sampled frames and miss texts that appear between them; ξ = 1 tiles the whole video,
# so every text lands in some window (the paper's best setting). A text on screen for the whole clip is caught
# at every ξ, so the walkthrough's video may show nothing here; this figure uses its own example instead: the
# test video where ξ drops the most texts (then changes the most window captions), on the corpus's
# *ground-truth* tracks, whose time spans are frame-exact (EasyOCR, sampling at `ocr.fps`, gives spans in
# steps of half a window, so with it ξ < 1 can only drop the text of a half-window).

# %%
xis = (0.2, 0.4, 0.6, 0.8, 1.0)
gt_dir = Path(params.paths.corpus) / "Kwai_VideoOCR"


def gt_tracks(e):
    path = gt_dir / e.ocr_path
    return read_tracks(path)[0]


effects = []
for k, e in enumerate(test.entries):
    frames_k = probe(videos_dir(params.paths.corpus) / e.path).num_frames
    effect = viz.xi_effect(gt_tracks(e), frames_k, n, xis, params.windows.max_words)
    effects.append((effect["texts_dropped"], effect["windows_changed"], -k, frames_k))
dropped, changed, minus_k, xi_frames = max(effects)
xi_entry, xi_tracks = test.entries[-minus_k], gt_tracks(test.entries[-minus_k])
title = f"{xi_entry.video_id}: {n} windows shrunk to ξΔ about their centres (Δ = {xi_frames / n:g} frames), ground-truth tracks"
viz.save(viz.window_sampling_figure(xi_frames, n, xis, xi_tracks, title=title), figures / "03_window_scale.png");

# %%
missed = {xi: [t.text for t, hit in zip(xi_tracks, viz.texts_caught(xi_tracks, xi_frames, n, xi)) if not hit] for xi in xis}
lines = [f"- ξ = {xi:g}: {len(xi_tracks) - len(m)}/{len(xi_tracks)} texts caught" + (f"; missed: {', '.join(f'“{t}”' for t in m)}" if m else "")
         for xi, m in missed.items()]
display(Markdown(
    f"**What the figure shows.** `{xi_entry.video_id}` ({xi_entry.domain}) has {len(xi_tracks)} ground-truth texts; of "
    f"the {len(test)} test videos it is the one where ξ drops the most (summed over ξ: {dropped} texts dropped, "
    f"{changed} window captions changed against ξ = 1). Texts on screen long enough to overlap a shrunken window's "
    "middle are caught at every ξ; short texts that sit between two sampled frames fall into the gaps:\n\n" + "\n".join(lines)
    + ("" if dropped else "\n\nNo test video loses a text at any ξ: on this corpus the window scale is a no-op.")))

# %% [markdown]
# ## 4 · Encoders: frame and window features
#
# The vision encoder turns each of the N frames into a D-dimensional feature; the text encoder embeds the
# query and, as text too, each OCR caption. Everything that depends on the video alone is computed once by
# `encode_videos` (a `VideoState`); the co-attention's query-independent logits are precomputed there too.

# %%
batch = to_model_batch(model, test.batch([row]))
with torch.no_grad():
    state = model.encode_videos(batch)
    t = model.encode_queries([query])
shapes = [{"tensor": k, "shape": tuple(v.shape)} for k, v in state.tensors.items()] + [{"tensor": "query t", "shape": tuple(t.shape)}]
pd.DataFrame(shapes)


# %% [markdown]
# ## 5 · Text-condition
#
# The query re-weights the frames and the OCR windows: w_i = softmax_i(τ · cos(t, x_i)) over the valid
# tokens (`tcd.model.condition.text_condition_scales`, which returns s_i = N_valid · w_i). The model never
# rescales a token (a LayerNorm would undo it): w_i pools the tokens (S_TV, S_TO) and log s_i biases every
# attention over them (co-attention, CTCD), so a uniform weighting changes nothing. Small τ is plain mean
# pooling, large τ picks the best-matching token.
# Shaded: the windows whose caption shares a word with the query (the text the query quotes) and their frames.

# %%
def condition_weights(tokens, token_mask, tau):
    """The softmax weights w_i behind the model's scales s_i = N_valid · w_i."""
    s = text_condition_scales(t, tokens, token_mask, tau)[0, 0]
    return (s / token_mask.sum().clamp(min=1)).numpy()


taus = sorted({0.1, 1.0, cfg.tau, 10.0})
with torch.no_grad():
    frame_w = {tau: condition_weights(state["frames"], state["frame_mask"], tau) for tau in taus}
    window_w = {tau: condition_weights(state["ocr"], state["ocr_mask"], tau) for tau in taus}
quoting = np.array([bool(words(query) & words(c)) for c in captions])
viz.save(viz.text_condition_figure(frame_w, window_w, captions, quoting, query), figures / "05_text_condition.png");

# %%
share = lambda w, on: float(w[on].sum())
pd.DataFrame([{"τ": tau, "windows quoting the query": int(quoting.sum()),
               "window weight on them": share(window_w[tau], quoting),
               "frame weight on their frames": share(frame_w[tau], quoting),
               "uniform share (windows)": quoting.sum() / max(1, window_mask.sum()),
               "uniform share (frames)": quoting.sum() / n} for tau in taus]).round(2)

# %% [markdown]
# ## 6 · HSC: the temporal cycle between frames and OCR windows
#
# Heterogeneous semantics calibrating is a self-supervised loss: from frame i go to its (soft) nearest OCR
# window, then back to the (soft) nearest frame μ_i; the loss is (i − μ_i)² averaged over frames
# (`tcd.model.hsc.hsc_loss`). It asks the two sequences to agree *in time*. Left: a freshly initialised model
# of the same configuration (`torch.manual_seed(0)`); middle: the trained checkpoint.

# %%
torch.manual_seed(0)
fresh = build_model(cfg).eval()
with torch.no_grad():
    state_before = fresh.encode_videos(to_model_batch(fresh, test.batch([row])))
viz.save(viz.hsc_figure(state_before, state, temperature=cfg.hsc_temperature), figures / "06_hsc_cycle.png");


# %%
def hsc_reading(st):
    """hsc_summary of the figure's cycle, plus how alike the video's frame features are (lowest pairwise cosine)."""
    runs = st["ocr_run"] if "ocr_run" in st else None
    cycle = viz.hsc_cycle(st["frames"], st["ocr"], st["frame_mask"], st["ocr_mask"], cfg.hsc_temperature, runs)
    v = F.normalize(st["frames"][0][st["frame_mask"][0]], dim=-1)
    return viz.hsc_summary(cycle) | {"frame_cos_min": float((v @ v.T).min())}


readings = {"before training": hsc_reading(state_before), "after training": hsc_reading(state)}
pd.DataFrame.from_dict(readings, orient="index").round(3)

# %%
def describe(label, r):
    return (f"{label}: L_hsc = {r['loss']:.2f} frames², every μ_i in [{r['mu_min']:.2f}, {r['mu_max']:.2f}], "
            f"{r['distinct_windows']} distinct nearest window(s) for {r['frames']} frames; frame-to-window cosines "
            f"{r['cos_min']:.3f} … {r['cos_max']:.3f}, frames alike to cosine ≥ {r['frame_cos_min']:.3f}")


collapsed = [label for label, r in readings.items() if r["collapsed"]]
after = readings["after training"]
text = "**Reading.** " + "; ".join(describe(label, r) for label, r in readings.items()) + ". "
if collapsed:
    text += (f"The cycle is **collapsed** {' and '.join(collapsed)}: every frame comes back to the same place, so the "
             f"loss sits at the collapse value — {after['collapse_loss']:.2f} frames² when all μ_i land on the middle "
             f"frame ((N² − 1)/12 for N = {after['frames']} frames without caption runs), more when they land off it — and "
             "says nothing about time. This is a negative result: the small vision tower, trained from scratch, gives "
             "the frames of one video near-identical features, so the way back from a window cannot tell the frames "
             "apart, every cycle lands at about the same index, and HSC has no temporal signal to calibrate" + ("; training did not change that." if len(collapsed) == 2 else "."))
else:
    text += "The cycles come back to different frames: HSC's alignment carries temporal information here."
display(Markdown(text))


# %% [markdown]
# ## 7 · Co-attention and CTCD
#
# The text-conditioned frames and windows attend to each other (video-OCR co-attention: Ṽ, Õ). Then CTCD
# distils each modality into one learnable *clue* token: the video clue (with the video tokens) attends to
# the OCR tokens, the OCR clue to the frames; the hybrid clue is their mean. The co-attention weights are
# re-weighted by their keys' text-condition (a bias log s_j on the logits, which no normalisation undoes):
# the weights are rebuilt from the module's public pieces (its `prepare` logits plus that bias) and
# checked against its output; the CTCD weights are read at the clue attention's dropout layer (the identity
# in eval mode), which receives them.

# %%
def co_attention_weights(prep, s, r, frame_mask, ocr_mask):
    """Softmax weights [H, N, N] frames→windows and windows→frames, as in VideoOcrCoAttention.forward:
    the precomputed logits plus the keys' text-condition bias log r_j (log s_j)."""
    vo = masked_softmax(prep["co_logits_vo"] + scale_bias(r, ocr_mask)[:, :, None, None, :], ocr_mask[None, :, None, None, :])
    ov = masked_softmax(prep["co_logits_ov"] + scale_bias(s, frame_mask)[:, :, None, None, :], frame_mask[None, :, None, None, :])
    return vo[0, 0], ov[0, 0]


frame_mask, ocr_mask = state["frame_mask"], state["ocr_mask"]
with torch.no_grad():
    s = text_condition_scales(t, state["frames"], frame_mask, cfg.tau)   # [1, 1, N]
    r = text_condition_scales(t, state["ocr"], ocr_mask, cfg.tau)
    prep = {k: v for k, v in state.tensors.items() if k.startswith("co_")}
    video_tilde, ocr_tilde = model.co_attention(prep, state["frames"], state["ocr"], s, r, frame_mask, ocr_mask)
    vo, ov = co_attention_weights(prep, s, r, frame_mask, ocr_mask)
    rebuilt = state["frames"][0] + torch.einsum("hxy,hyd->xd", vo, prep["co_values_o"][0])
assert torch.allclose(rebuilt, video_tilde[0, 0], atol=1e-5), "co-attention weights do not reproduce Ṽ"

# %%
captured = []   # the clue attention's weights [H, L], video clue first (ClueDistilling.forward's order)
hook = model.clue.cross_attention.dropout.register_forward_hook(lambda m, inputs, out: captured.append(out[0, 0]))
try:
    with torch.no_grad():
        hybrid = model.clue(video_tilde, ocr_tilde, s, r, frame_mask, ocr_mask)
finally:
    hook.remove()
video_clue_w, ocr_clue_w = captured


def shown(w, rows_valid, cols_valid):
    """Weights as numpy with masked rows / columns as NaN (grey)."""
    w = w.numpy().copy()
    w[~rows_valid.numpy()] = np.nan
    w[:, ~cols_valid.numpy()] = np.nan
    return w


heads = torch.ones(video_clue_w.shape[0], dtype=torch.bool)
maps = {"co-attention: frames → OCR windows (mean of heads)": shown(vo.mean(0), frame_mask[0], ocr_mask[0]),
        "co-attention: OCR windows → frames (mean of heads)": shown(ov.mean(0), ocr_mask[0], frame_mask[0]),
        "CTCD: video clue → OCR windows": shown(video_clue_w, heads, ocr_mask[0]),
        "CTCD: OCR clue → frames": shown(ocr_clue_w, heads, frame_mask[0])}
labels = dict(zip(maps, [("OCR window", "frame"), ("frame", "OCR window"), ("OCR window", "head"), ("frame", "head")]))
viz.save(viz.attention_maps_figure(maps, labels), figures / "07_attention_maps.png");

# %% [markdown]
# ## 8 · Three scores and their mean; the ranking
#
# S_TV = cos(t, Σ wᵢṼᵢ), S_TO = cos(t, Σ wᵢÕᵢ) (the text-condition weights pool the tokens), S_TH = cos(t, hybrid
# clue) and S = mean(S_TV, S_TO, S_TH) — the mean over the parts a video has (a video without text has no S_TO).
# First from the pieces above for this video, checked against `model.score`; then this query against every
# test video, the top five and the true video in a table, and the ranking next to CLIP4Clip's (frames only).

# %%
pieces = {"video": weighted_mean(video_tilde, s, frame_mask), "ocr": weighted_mean(ocr_tilde, r, ocr_mask), "hybrid": hybrid}
mine = {k: float(F.cosine_similarity(t, v[0], eps=1e-6)[0]) for k, v in pieces.items()}
with torch.no_grad():
    own = model.score(t, state)
assert all(abs(mine[k] - float(own.parts[k][0, 0])) < 1e-4 for k in mine), (mine, own.parts)
display(Markdown(f"S = {float(own.sim[0, 0]):.3f} = mean(S_TV {mine['video']:.3f}, S_TO {mine['ocr']:.3f}, S_TH {mine['hybrid']:.3f})"))


# %%
def ranking(m, k=5, batch_size=32):
    """This query against every test video: the top-k rows for the figure (plus the true video's row when it
    ranks lower) and all rows."""
    chunks = np.array_split(np.arange(len(test)), max(1, len(test) // batch_size))
    with torch.no_grad():
        videos = VideoState.cat([m.encode_videos(to_model_batch(m, test.batch(c, word_slots=test.max_words))) for c in chunks])
        out = m.score(m.encode_queries([query]), videos)
    sim = out.sim[0].numpy()
    order = np.argsort(-sim, kind="stable")
    rows = [{"frames": test.frames[v], "sim": float(sim[v]), "parts": {p: float(x[0, v]) for p, x in out.parts.items()},
             "rank": i + 1, "video_id": test.video_ids[v], "is_true": v == row} for i, v in enumerate(order)]
    return rows[:k] + [r for r in rows[k:] if r["is_true"]], rows


top, everything = ranking(model)
table = pd.DataFrame([{"rank": r["rank"], "video": r["video_id"], **{f"S_T{p[0].upper()}": v for p, v in r["parts"].items()},
                       "S (mean)": r["sim"], "true video": r["is_true"]} for r in top])
assert np.allclose(table["S (mean)"], table.filter(like="S_T").mean(axis=1), atol=1e-5)
table.round(3)

# %%
baseline_path = work / "models" / "clip4clip" / "seed0" / "model.pt"
if baseline_path.exists():
    baseline_top, _ = ranking(load_model(baseline_path).eval())
    fig = viz.retrieval_examples_pair(query, top, baseline_top, names=("TCD", "CLIP4Clip"))
else:
    fig = viz.retrieval_examples_figure(query, top)
viz.save(fig, figures / "08_ranking.png");
