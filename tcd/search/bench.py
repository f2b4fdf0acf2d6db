"""`tcd bench search`: the two-stage search on synthetic index tensors, against the exhaustive full head.

The index is made, not encoded (encoding 100,000 videos would measure the vision tower): each video has a visual
topic c and a text topic u = 0.5 c + its own direction; its frames are c + noise and its OCR windows u + noise
(30 % of the videos have no text, like MSR-VTT's share; 30 % of the other windows are empty), each unit vector
plus noise of norm 1, stored in fp16 as an index stores them. A query aims at one video: 0.5 c + 0.5 u + noise of norm 1, and names two of its OCR words and one
random word (BM25 over a 5,000-word vocabulary, 3 to 8 words per video with text, every tenth query misspelling a
word). The model is the tiny preset's TCD, randomly initialised with ``seed`` (its head's weights are what
decides the ranking, and none is trained here: the bench measures agreement with the exhaustive head, not
retrieval quality), or with ``checkpoint`` a trained TCD (the study's: artifacts/models/tcd/seed0/model.pt), whose
head weighs the parts as training taught it; the index vectors stay synthetic either way. Stage 1's vectors
(`tcd.search.query.stage_one_vectors`) are computed once per opened index (``stage1_build_ms``). Per K:
milliseconds per query (after query encoding): ``stage_ms`` (stage 1, the head on the
shortlist and the fusion) plus ``bm25_ms`` (`tcd.search.bm25.Bm25Index.scores` over the whole index; building
that index once, when an index is opened, takes ``bm25_build_ms``; the reference uses `tcd.lexical.bm25_scores`);
``cpu_ms``: the process's CPU seconds for both (on a shared machine wall time is inflated by other jobs), and the share of the exhaustive top-10 that the two-stage top-10 keeps, fused (at ``weight``)
and by the model alone.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from tcd.search.query import fuse_with_string_match, rank, stage_one_vectors

VOCAB = 5000


def synthetic_model(num_frames: int, seed: int, device: str = "cpu"):
    from tcd.model import build_model
    from tcd.model.config import ModelConfig

    torch.manual_seed(seed)
    return build_model(ModelConfig(variant="tcd", preset="tiny", num_frames=num_frames)).to(device).eval()


@torch.no_grad()
def synthetic_index(model, n_videos: int, n_queries: int, seed: int, chunk: int = 4096):
    """(state fp16 on CPU, documents, query vectors [Q, D], query strings): see the module docstring."""
    from tcd.model import VideoState

    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    n, d = model.cfg.num_frames, model.cfg.embed_dim_resolved
    unit = lambda x: torch.nn.functional.normalize(x, dim=-1)
    noise = lambda *shape: unit(torch.randn(*shape, d, generator=gen))
    topic = noise(n_videos)
    text = unit(0.5 * topic + noise(n_videos))
    has_text = torch.rand(n_videos, generator=gen) >= 0.3
    ocr_mask = (torch.rand(n_videos, n, generator=gen) >= 0.3) & has_text[:, None]
    ocr_mask[has_text & ~ocr_mask.any(1), 0] = True
    tensors: dict[str, list] = {}
    for v0 in range(0, n_videos, chunk):
        rows = slice(v0, min(v0 + chunk, n_videos))
        frames, ocr = topic[rows, None] + noise(len(topic[rows]), n), text[rows, None] + noise(len(text[rows]), n)
        part = dict(frames=frames, frame_mask=torch.ones(len(frames), n, dtype=torch.bool), ocr=ocr,
                    ocr_mask=ocr_mask[rows])   # co-attention's tensors: recomputed per shortlist, as for an index
        for k, v in part.items():
            tensors.setdefault(k, []).append(v.cpu().half() if v.is_floating_point() else v.cpu())
    state = VideoState({k: torch.cat(v) for k, v in tensors.items()})
    documents = [[f"W{w:04d}" for w in rng.choice(VOCAB, rng.integers(3, 9), replace=False)] if t else []
                 for t in has_text.tolist()]
    targets = rng.choice(np.flatnonzero(has_text.numpy()), n_queries, replace=False)
    queries = unit(0.5 * topic[targets] + 0.5 * text[targets] + noise(n_queries))
    strings = []
    for i, v in enumerate(targets):
        words = list(rng.choice(documents[v], 2, replace=False)) + [f"W{rng.integers(VOCAB):04d}"]
        if i % 10 == 0:   # a misread the fuzzy match must recover: W0123 -> W0I23 style
            words[0] = words[0][:2] + "X" + words[0][3:]
        strings.append(" ".join(words))
    return state, documents, queries, strings


@torch.no_grad()
def exhaustive(model, query, state, chunk: int = 8192) -> np.ndarray:
    """The full head on every video (fp32), [V]."""
    from tcd.search.query import slice_state

    sims = [model.score(query, slice_state(model, state, torch.arange(v0, min(v0 + chunk, len(state))))).sim
            for v0 in range(0, len(state), chunk)]
    return torch.cat(sims, 1)[0].float().cpu().numpy()


def _top(scores: np.ndarray, rows: np.ndarray | None = None, k: int = 10) -> set[int]:
    order = np.argsort(-scores, kind="stable")[:k]
    return set((rows[order] if rows is not None else order).tolist())


def search_bench(sizes: list[int], shortlists: list[int], queries: int = 20, num_frames: int = 4, threads: int = 2,
                 device: str | None = None, weight: float = 0.5, seed: int = 0, fuzzy: float = 0.8,
                 checkpoint: str | None = None) -> list[dict]:
    """One row per (videos, K); see the module docstring."""
    from tcd.lexical import bm25_scores
    from tcd.search.bm25 import Bm25Index

    torch.set_num_threads(threads)
    device = device or "cpu"
    if checkpoint is None:
        model = synthetic_model(num_frames, seed, device)
    else:
        from tcd.model import load_model

        model = load_model(checkpoint, map_location=device).eval()
        if model.video_kind != "tcd":
            raise ValueError(f"{checkpoint}: a {model.cfg.variant} checkpoint; the search bench measures TCD's head "
                             "(artifacts/models/tcd/seed<k>/model.pt)")
    rows = []
    for n_videos in sizes:
        state, documents, qvecs, qstrings = synthetic_index(model, n_videos, queries, seed)
        t0 = time.perf_counter()
        pooled, present = stage_one_vectors(model, state)   # once per opened index, as `SearchIndex.stage_one` does
        stage1_build_ms = 1000 * (time.perf_counter() - t0)
        pooled, present, qvecs = pooled.to(device), present.to(device), qvecs.to(device)
        t0 = time.perf_counter()
        bm25 = Bm25Index(documents)   # once per opened index, as `SearchIndex.bm25` does
        bm25_build_ms = 1000 * (time.perf_counter() - t0)
        t0 = time.perf_counter()
        reference = []
        for q in range(queries):
            string = bm25_scores([qstrings[q]], documents, fuzzy=fuzzy)[0]   # the floor's own, as the reference
            sim = exhaustive(model, qvecs[q:q + 1], state)
            reference.append((string, _top(sim), _top(fuse_with_string_match(sim[None], string[None], weight)[0])))
        exhaustive_ms = 1000 * (time.perf_counter() - t0) / queries
        bytes_per_video = sum(v[0].numel() * v.element_size() for v in state.tensors.values())
        for k in shortlists:
            kept_model, kept_fused, times, bm25_times, cpu = [], [], [], [], []
            for q in range(queries):
                start, cpu_start = time.perf_counter(), time.process_time()
                string = bm25.scores(qstrings[q], fuzzy)
                middle = time.perf_counter()
                shortlisted, total, out = rank(model, qvecs[q:q + 1], state, pooled, present, string, weight, k)
                top = _top(total, shortlisted.numpy())
                times.append(time.perf_counter() - middle)
                cpu.append(time.process_time() - cpu_start)
                bm25_times.append(middle - start)
                kept_fused.append(len(top & reference[q][2]) / 10)
                kept_model.append(len(_top(out.sim[0].cpu().numpy(), shortlisted.numpy()) & reference[q][1]) / 10)
            ms, bm25_ms = 1000 * float(np.median(times)), 1000 * float(np.median(bm25_times))
            rows.append(dict(videos=n_videos, K=k, ms_per_query=round(ms + bm25_ms, 2),
                             queries_per_s=round(1000 / (ms + bm25_ms), 1), stage_ms=round(ms, 2),
                             bm25_ms=round(bm25_ms, 2), bm25_build_ms=round(bm25_build_ms, 1),
                             stage1_build_ms=round(stage1_build_ms, 1), cpu_ms=round(1000 * float(np.median(cpu)), 2), kept_top10_fused=round(float(np.mean(kept_fused)), 4),
                             kept_top10_model=round(float(np.mean(kept_model)), 4),
                             exhaustive_ms_per_query=round(exhaustive_ms, 1), bytes_per_video=bytes_per_video,
                             threads=threads, device=device, queries=queries, head=checkpoint or f"random (seed {seed})"))
    return rows
