"""Attention parts: masked attention, video-OCR co-attention, and CTCD (context-guided temporal clue distilling).

Shapes: features are [..., L, D] with any leading dims (videos, or query x video pairs); masks are bool
[..., L] and broadcast against the features' leading dims. A row whose keys are all masked (a video with
no text at all) attends to nothing: its attention weights are all zero, never NaN.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def masked_softmax(logits: Tensor, mask: Tensor) -> Tensor:
    """softmax over the last dim restricted to `mask`; rows without any valid entry give all-zero weights."""
    mask = mask.expand_as(logits)
    has_any = mask.any(-1, keepdim=True)
    # fill masked entries with -inf, but fully-masked rows with 0 so softmax stays finite; then zero them
    logits = logits.masked_fill(~mask & has_any, float("-inf")).masked_fill(~has_any, 0.0)
    return torch.softmax(logits, dim=-1) * mask


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean of x [..., L, D] over valid positions of mask [..., L]; zero vector where nothing is valid."""
    m = mask.to(x.dtype).expand(x.shape[:-1])
    return (x * m[..., None]).sum(-2) / m.sum(-1, keepdim=True).clamp(min=1.0)


class Attention(nn.Module):
    """Plain multi-head attention: queries from x [..., L, D], keys/values from context [..., M, D]."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.out = (nn.Linear(dim, dim) for _ in range(4))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, context: Tensor, context_mask: Tensor) -> Tensor:
        lead = torch.broadcast_shapes(x.shape[:-2], context.shape[:-2], context_mask.shape[:-1])
        x, context = x.expand(*lead, *x.shape[-2:]), context.expand(*lead, *context.shape[-2:])
        b, (lq, d), lk, h = math.prod(lead), x.shape[-2:], context.shape[-2], self.heads
        q = self.q(x).reshape(b, lq, h, d // h).transpose(1, 2)
        k = self.k(context).reshape(b, lk, h, d // h).transpose(1, 2)
        v = self.v(context).reshape(b, lk, h, d // h).transpose(1, 2)
        mask = context_mask.expand(*lead, lk).reshape(b, 1, 1, lk)
        weights = masked_softmax(q @ k.transpose(-1, -2) / math.sqrt(d // h), mask)
        out = (self.dropout(weights) @ v).transpose(1, 2).reshape(*lead, lq, d)
        return self.out(out)


class VideoOcrCoAttention(nn.Module):
    """Video-OCR co-attention on text-conditioned tokens: Ṽ = F' + Attn(F' -> O'), Õ = O' + Attn(O' -> F').

    The text-condition scales token i of a (query, video) pair by a positive weight s_i (condition.py),
    F'_i = s_i F_i. Projections are bias-free and applied to LN(F_i), so q_i = s_i W_q LN(F_i) etc.: every
    projection, and even the logits ⟨W_q LN(F_i), W_k LN(O_j)⟩, is query-independent and computed once per
    video by `prepare`; a pair only rescales logits by s_i r_j and mixes precomputed values. This is exact
    (not an approximation) and makes all-pairs scoring O(N^2 D) per pair instead of O(N D^2).
    The output projection starts at zero, so at initialisation Ṽ = F', Õ = O' (the module adds a residual).
    """

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm_video, self.norm_ocr = nn.LayerNorm(dim), nn.LayerNorm(dim)
        # [0]: video tokens query OCR tokens, [1]: OCR tokens query video tokens
        self.q = nn.ModuleList(nn.Linear(dim, dim, bias=False) for _ in range(2))
        self.k = nn.ModuleList(nn.Linear(dim, dim, bias=False) for _ in range(2))
        self.v = nn.ModuleList(nn.Linear(dim, dim, bias=False) for _ in range(2))
        self.out = nn.ModuleList(nn.Linear(dim, dim, bias=False) for _ in range(2))
        for layer in self.out:
            nn.init.zeros_(layer.weight)

    def _direction(self, i: int, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Logits [..., H, Lx, Ly] and per-head output values [..., H, Ly, D] for x attending to y."""
        h, d = self.heads, x.shape[-1]
        q = self.q[i](x).unflatten(-1, (h, d // h)).transpose(-2, -3)           # [..., H, Lx, dh]
        k = self.k[i](y).unflatten(-1, (h, d // h)).transpose(-2, -3)           # [..., H, Ly, dh]
        v = self.v[i](y).unflatten(-1, (h, d // h)).transpose(-2, -3)           # [..., H, Ly, dh]
        w_out = self.out[i].weight.unflatten(1, (h, d // h)).permute(1, 2, 0)    # [H, dh, D]
        return q @ k.transpose(-1, -2) / math.sqrt(d // h), torch.einsum("...hlk,hkd->...hld", v, w_out)

    def prepare(self, frames: Tensor, ocr: Tensor) -> dict[str, Tensor]:
        """Query-independent part, per video: frames, ocr [V, N, D] -> logits and output values."""
        fv, fo = self.norm_video(frames), self.norm_ocr(ocr)
        logits_vo, values_o = self._direction(0, fv, fo)
        logits_ov, values_v = self._direction(1, fo, fv)
        return dict(co_logits_vo=logits_vo, co_values_o=values_o, co_logits_ov=logits_ov, co_values_v=values_v)

    def forward(self, prep: dict[str, Tensor], frames: Tensor, ocr: Tensor, s: Tensor, r: Tensor,
                frame_mask: Tensor, ocr_mask: Tensor) -> tuple[Tensor, Tensor]:
        """s, r [Q, V, N] token scales (Q may be 1); frames, ocr [V, N, D] -> Ṽ, Õ [Q, V, N, D]."""
        def attend(logits, values, sx, sy, mask_y):
            logits = logits * sx[:, :, None, :, None] * sy[:, :, None, None, :]       # [Q, V, H, Lx, Ly]
            weights = masked_softmax(logits, mask_y[None, :, None, None, :]) * sy[:, :, None, None, :]
            return torch.einsum("qvhxy,vhyd->qvxd", weights, values)

        video = s[..., None] * frames + attend(prep["co_logits_vo"], prep["co_values_o"], s, r, ocr_mask)
        text = r[..., None] * ocr + attend(prep["co_logits_ov"], prep["co_values_v"], r, s, frame_mask)
        return video, text


class ClueAttention(nn.Module):
    """Multi-head cross-attention read out at one learnable query token (a clue): clue' = MHA(clue, X, X).

    In CTCD the clue is concatenated with its modality's tokens as queries, [clue; X_own], attending to the
    other modality's tokens. Rows of a cross-attention do not interact, so the clue's output row does not
    depend on the other query rows; only that row is used, so only it is computed. With one query the keys
    need not be projected: ⟨W_q c, W_k x_j⟩ = ⟨W_kᵀ W_q c, x_j⟩, and the values are pooled before W_v
    (both exact), which keeps the per-pair cost at O(H N D + D^2).
    """

    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.heads = heads
        self.norm_query, self.norm_kv = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.q, self.v, self.out = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim, bias=False)   # a key bias adds a constant per head to all logits: it cancels
        self.dropout = nn.Dropout(dropout)

    def forward(self, clue: Tensor, x: Tensor, mask: Tensor) -> Tensor:
        """clue [D] (one learnable token), x [..., L, D], mask [..., L] -> [..., D]."""
        h, d = self.heads, clue.shape[-1]
        q = self.q(self.norm_query(clue)).view(h, d // h)
        u = torch.einsum("hk,hkd->hd", q, self.k.weight.view(h, d // h, d)) / math.sqrt(d // h)   # [H, D]
        x = self.norm_kv(x)
        weights = self.dropout(masked_softmax((x @ u.T).transpose(-1, -2), mask[..., None, :]))  # [..., H, L]
        pooled = weights @ x                                                                      # [..., H, D]
        values = torch.einsum("...hd,hkd->...hk", pooled, self.v.weight.view(h, d // h, d))
        values = values + weights.sum(-1, keepdim=True) * self.v.bias.view(h, d // h)
        return self.out(values.flatten(-2))


class ClueDistilling(nn.Module):
    """CTCD (Algorithm 1): learnable video and OCR clues C_V, C_O with type embeddings; the video clue travels
    with the video tokens and attends to the OCR tokens, the OCR clue the other way round (the figure's
    reading); one shared cross-attention, the type embeddings tell the modalities apart. Hybrid clue = mean."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.video_clue = nn.Parameter(torch.randn(dim) * 0.02)
        self.ocr_clue = nn.Parameter(torch.randn(dim) * 0.02)
        self.type_embedding = nn.Parameter(torch.randn(2, dim) * 0.02)    # [0] video, [1] OCR
        self.cross_attention = ClueAttention(dim, heads, dropout)

    def forward(self, video: Tensor, ocr: Tensor, frame_mask: Tensor, ocr_mask: Tensor) -> Tensor:
        """video, ocr [..., N, D] (Ṽ, Õ) -> hybrid clue [..., D]."""
        e_video, e_ocr = self.type_embedding
        video_clue = self.cross_attention(self.video_clue + e_video, ocr + e_ocr, ocr_mask)
        ocr_clue = self.cross_attention(self.ocr_clue + e_ocr, video + e_video, frame_mask)
        return (video_clue + ocr_clue) / 2


class PlainCrossAttention(nn.Module):
    """Table A4's "no modules" row: CTCD replaced by plain cross-attention (no clues, no type embeddings).
    Each modality's tokens attend to the other's; hybrid = mean of the two mean-pooled outputs."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.cross_attention = Attention(dim, heads, dropout)

    def forward(self, video: Tensor, ocr: Tensor, frame_mask: Tensor, ocr_mask: Tensor) -> Tensor:
        v, o = self.norm(video), self.norm(ocr)
        from_video = masked_mean(self.cross_attention(v, o, ocr_mask), frame_mask)
        from_ocr = masked_mean(self.cross_attention(o, v, frame_mask), ocr_mask)
        return (from_video + from_ocr) / 2

