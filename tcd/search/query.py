"""Search an index: two stages, the model's own scoring fused with the OCR string match, and each hit explained.

Stage 1 (query-independent index, cheap): the cosine of the query with each video's part vectors as the model
itself computes them without the query (`stage_one_vectors`: TCD's head at uniform text-condition scales; exact
for variants whose video side does not depend on the query) and BM25 over the
videos' OCR words (`tcd.search.bm25`: `tcd.lexical.bm25_scores`' numbers from an index built once, misreads
matched with ``fuzzy``). The K best of each form the
shortlist. Stage 2: the checkpoint's full head (`RetrievalModel.score`, TCD's text-conditioned co-attention and
clue distilling) scores the shortlist, and `fuse_with_string_match` late-fuses it with BM25 as the fusion stage
does. An index of at most K videos is searched exhaustively: then the ranking is the fusion stage's own, with
its weight; above K the fusion's per-query normalisation runs over the shortlist.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from tcd.search.index import SearchIndex, SearchIndexError


@dataclass
class Hit:
    """One ranked video: total (fused) score, its parts (the model's S and parts, BM25 apart), the best window."""

    video: str
    id: str
    score: float
    parts: dict
    window: dict
    thumbnail: str | None = None
    row: int = -1

    def to_json(self) -> dict:
        doc = asdict(self)
        doc.pop("row")
        return doc


def fuse_with_string_match(sim_model: np.ndarray, sim_string: np.ndarray, weight: float) -> np.ndarray:
    """The one place search fuses: the fusion stage's own function (`tcd.lexical.fuse`), rows = queries."""
    from tcd.lexical import fuse

    return fuse(np.asarray(sim_model, dtype=np.float64), np.asarray(sim_string, dtype=np.float64), weight)


def fusion_weight(table: str | Path, seed: int = 0) -> float:
    """The weight the fusion stage chose on validation for ``seed`` (reports/tables/fusion/<variant>.csv)."""
    import pandas as pd

    table = Path(table)
    if not table.is_file():
        raise SearchIndexError(f"{table}: no fusion table; run the fusion stage (dvc repro fusion) or pass --weight W")
    curve = pd.read_csv(table)
    chosen = curve[(curve.split == "val") & curve.chosen.astype(bool) & (curve.seed == seed)]
    if len(chosen) != 1:
        raise SearchIndexError(f"{table}: no chosen validation weight for seed {seed}; pass --weight W")
    return float(chosen.weight.iloc[0])


def checkpoint_seed(path: str | Path) -> int:
    """The seed of a study checkpoint path (artifacts/models/<variant>/seed<k>/model.pt), 0 when it has none."""
    match = re.fullmatch(r"seed(\d+)", Path(path).parent.name)
    return int(match.group(1)) if match else 0


# ---- the two stages --------------------------------------------------------------------------------------

def stage_one_vectors(model, state, chunk: int = 2048) -> tuple[Tensor, Tensor]:
    """Stage 1's index: per video the unit vectors of the parts the model scores [V, P, D] and which exist [V, P].

    A variant whose video side does not depend on the query stores them (``vec_*``): stage 1 is then exact. TCD
    with its text-condition: its own head at uniform scales (s = r = 1 on every valid frame and window), through
    co-attention and CTCD, so that only the query's re-weighting of the tokens is left to stage 2. X-Pool:
    mean-pooled frames and OCR windows. Computed ``chunk`` videos at a time on the model's device."""
    names, vectors = None, []
    with torch.no_grad():
        for v0 in range(0, len(state), chunk):
            part = slice_state(model, state, torch.arange(v0, min(v0 + chunk, len(state))))
            found = _stage_one_parts(model, part)
            names = names or list(found)
            vectors.append(torch.stack([found[k] for k in names], 1).float().cpu())
    frame_mask = state["frame_mask"]
    ocr_mask = state["ocr_mask"] if "ocr_mask" in state else torch.zeros_like(frame_mask)
    has = dict(ocr=ocr_mask.any(-1))
    if "hybrid" in names:
        has["hybrid"] = model.clue.has_hybrid(frame_mask, ocr_mask)
    present = torch.stack([has.get(k, torch.ones_like(frame_mask[:, 0])) for k in names], 1)
    return torch.nn.functional.normalize(torch.cat(vectors), dim=-1, eps=1e-6), present


def _stage_one_parts(model, part) -> dict[str, Tensor]:
    """{part name: [V, D]} for `stage_one_vectors`, on an fp32 slice of the index."""
    from tcd.model.attention import masked_mean

    if not model.query_dependent:
        vectors = {k[4:]: x for k, x in part.tensors.items() if k.startswith("vec_")}
        return {"fused": vectors["fused"]} if model.ocr_kind == "instances" else vectors
    if model.video_kind == "tcd":
        prep = {k: x for k, x in part.tensors.items() if k.startswith("co_")}
        ones_v, ones_o = part["frame_mask"].float()[None], part["ocr_mask"].float()[None]
        return {k: x[0] for k, x in model._tcd_vectors(part, prep, ones_v, ones_o).items()}
    vectors = dict(video=masked_mean(part["frames"], part["frame_mask"]))
    if "ocr" in part:
        vectors["ocr"] = masked_mean(part["ocr"], part["ocr_mask"])
    return vectors


def first_stage(queries: Tensor, pooled: Tensor, present: Tensor) -> Tensor:
    """[Q, V]: the mean over the parts a video has of cos(query, its stage-1 vector) (`stage_one_vectors`)."""
    q = torch.nn.functional.normalize(queries.float(), dim=-1, eps=1e-6)
    cos = torch.einsum("qd,vpd->qvp", q, pooled) * present[None].float()
    return cos.sum(-1) / present.float().sum(-1).clamp(min=1)[None]


def shortlist(proxy: Tensor, string: np.ndarray | None, k: int) -> Tensor:
    """Rows of the K best first-stage scores, joined with the K best string matches that match at all."""
    n = proxy.shape[-1]
    if k >= n:
        return torch.arange(n)
    rows = torch.topk(proxy, k).indices
    if string is not None:
        top = np.argsort(-string, kind="stable")[:k]
        rows = torch.cat([rows, torch.as_tensor(top[string[top] > 0], dtype=torch.long)])
    return torch.unique(rows)


def slice_state(model, state, rows: Tensor):
    """Rows of an index state, fp32 on the model's device, with the co-attention tensors the index does not store
    recomputed by the model (what `RetrievalModel.encode_videos` adds after its encoders)."""
    from tcd.model import VideoState

    part = {k: (v.float() if v.is_floating_point() else v).to(model.device) for k, v in state.index(rows).tensors.items()}
    if model.video_kind == "tcd" and model.switches["co_attention"] and model.switches["text_condition"] \
            and "co_logits_vo" not in part:
        with torch.no_grad():
            part.update(model.co_attention.prepare(part["frames"], part["ocr"]))
    return VideoState(part)


@torch.no_grad()
def rank(model, query: Tensor, state, pooled: Tensor, present: Tensor, string: np.ndarray | None, weight: float,
         k_shortlist: int, sample: int = 64):
    """One query [1, D] through both stages: (rows, total [R], model ScoreOutput over rows) in shortlist order.

    The total is the fusion over the WHOLE index, as the fusion stage fuses over its whole gallery: outside the
    shortlist the model's score is imputed from stage 1 (a least-squares line fitted on ``sample`` random videos
    the head scores too, plus their residuals drawn again, so the imputed scores spread as the head's do), and the
    fusion's per-query normalisation sees the whole index; only shortlisted videos are ranked. An index no larger than K is scored exhaustively, exactly as the fusion stage scores."""
    proxy = first_stage(query, pooled, present)[0]
    rows = shortlist(proxy, string, k_shortlist)
    n = len(proxy)
    extra = _sample_rows(n, rows, sample)
    out = model.score(query, slice_state(model, state, torch.cat([rows, extra])))
    scored = out.sim[0].float().cpu().numpy()
    out.sim, out.parts = out.sim[:, :len(rows)], {k: p[:, :len(rows)] for k, p in out.parts.items()}
    if string is None or weight == 0.0:
        return rows, scored[:len(rows)], out
    full = _impute(proxy.cpu().numpy(), torch.cat([rows, extra]).numpy(), scored, extra_from=len(rows))
    return rows, fuse_with_string_match(full[None], string[None], weight)[0, rows.numpy()], out


def _sample_rows(n: int, rows: Tensor, sample: int) -> Tensor:
    """Up to ``sample`` videos outside the shortlist, drawn with a fixed seed (the same for every query)."""
    if n <= len(rows):
        return rows[:0]
    outside = np.setdiff1d(np.arange(n), rows.numpy())
    picked = np.random.default_rng(0).choice(outside, min(sample, len(outside)), replace=False)
    return torch.as_tensor(np.sort(picked), dtype=torch.long)


def _impute(proxy: np.ndarray, rows: np.ndarray, scored: np.ndarray, extra_from: int) -> np.ndarray:
    """The model's scores for all videos: the head's where scored, else a line in stage 1's score fitted on the
    random sample (rows[extra_from:]) plus one of its residuals (fixed seed)."""
    full = np.empty(len(proxy), dtype=np.float64)
    if extra_from < len(rows):
        x, y = proxy[rows[extra_from:]], scored[extra_from:]
        slope, intercept = np.polyfit(x, y, 1) if np.ptp(x) > 0 else (0.0, float(np.mean(y)))
        residuals = y - (slope * x + intercept)
        full[:] = slope * proxy + intercept + np.random.default_rng(0).choice(residuals, len(proxy))
    full[rows] = scored
    return full


# ---- search and explain ----------------------------------------------------------------------------------

def ranked(index: SearchIndex, queries: list[str], weight: float = 0.0, k_shortlist: int = 200,
           fuzzy: float | None = 0.8) -> list[tuple[np.ndarray, np.ndarray, object, np.ndarray]]:
    """Per query: (shortlisted rows best first, their totals, the model's ScoreOutput over them in that order, the
    string-match scores of every video)."""
    if any(not q.strip() for q in queries):
        raise SearchIndexError("empty query: say what the video shows or what is written in it")
    model = index.model
    pooled, present = index.stage_one()
    with torch.no_grad():
        encoded = model.encode_queries(list(queries))
    bm25 = index.bm25()
    strings = [bm25.scores(q, fuzzy) for q in queries]   # each query on its own: its misreads, not the batch's
    results = []
    for qi in range(len(queries)):
        rows, total, out = rank(model, encoded[qi:qi + 1], index.state, pooled, present, strings[qi], weight,
                                k_shortlist)
        order = np.argsort(-total, kind="stable")
        out.sim, out.parts = out.sim[:, order], {k: p[:, order] for k, p in out.parts.items()}
        results.append((rows.numpy()[order], total[order], out, strings[qi]))
    return results


def search(index: SearchIndex, queries: list[str], k: int = 10, weight: float = 0.0, k_shortlist: int = 200,
           fuzzy: float | None = 0.8, thumbnails: str | Path | None = None, thumbnail_frames: int = 5) -> list[list[Hit]]:
    """The top ``k`` videos for each query, each explained (`Hit`); thumbnail strips under ``thumbnails``."""
    if any(not q.strip() for q in queries):
        raise SearchIndexError("empty query: say what the video shows or what is written in it")
    if len(index) == 0:
        return [[] for _ in queries]
    with torch.no_grad():
        encoded = index.model.encode_queries(list(queries))
    results = []
    for qi, (rows, total, out, string) in enumerate(ranked(index, queries, weight, k_shortlist, fuzzy)):
        hits = []
        for pos in range(min(k, len(rows))):
            row = int(rows[pos])
            parts = {name: float(p[0, pos]) for name, p in out.parts.items()}
            parts.update(model=float(out.sim[0, pos]), string=float(string[row]), string_weight=weight)
            window = best_window(index, row, queries[qi], encoded[qi], fuzzy)
            video = index.videos[row]
            strip = None
            if thumbnails is not None:
                from tcd.search.explain import thumbnail_strip

                strip = str(thumbnail_strip(video, window, Path(thumbnails), thumbnail_frames))
            hits.append(Hit(video["path"], video["id"], float(total[pos]), parts, window, strip, row))
        results.append(hits)
    return results


def best_window(index: SearchIndex, row: int, query: str, encoded: Tensor, fuzzy: float | None) -> dict:
    """The window that matched best: the highest BM25 of the query against the windows' captions (string match,
    misreads included), else the window whose OCR features (frames, for a video without text) the query's
    embedding is closest to. ``matched_by`` says which."""
    from tcd.lexical import bm25_scores
    from tcd.model.family import cosine
    from tcd.ocr import text_words

    windows = index.videos[row]["windows"]
    docs = [sorted(text_words(w["caption"])) for w in windows]
    string = bm25_scores([query], docs, fuzzy=fuzzy)[0]
    if string.max() > 0:
        best, how = int(np.argmax(string)), "string"
    else:
        state = index.state
        has_text = "ocr" in state and bool(state["ocr_mask"][row].any())
        tokens, mask = (state["ocr"][row], state["ocr_mask"][row]) if has_text else \
            (state["frames"][row], state["frame_mask"][row])
        cos = cosine(encoded[None].float(), tokens.float().to(encoded.device))[0].cpu()
        best = int(torch.where(mask.cpu(), cos, torch.tensor(-2.0)).argmax())
        how = "model (ocr window)" if has_text else "model (frame)"
    return {**windows[best], "index": best, "matched_by": how}
