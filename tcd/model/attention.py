"""Shared attention blocks: masked softmax / mean, text-condition weighting, plain multi-head attention.

They serve every head of the family (condition.py, hsc.py, ctcd.py, the baselines in encoders.py), so they
live apart from any one of them. Shapes: features are [..., L, D] with any leading dims (videos, or
query x video pairs); masks are bool [..., L] and broadcast against the features' leading dims. A row whose
keys are all masked (a video with no text at all) attends to nothing: its weights are all zero, never NaN.
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


def masked_exp(logits: Tensor, mask: Tensor) -> Tensor:
    """exp(l - max l) over the last dim on valid entries, 0 on masked ones (an all-masked row: all 0): softmax's
    numerator, for callers that normalise it themselves."""
    x = logits.masked_fill(~mask, float("-inf"))
    top = x.amax(-1, keepdim=True).clamp(min=torch.finfo(x.dtype).min)   # all-masked rows: finite, exp gives 0
    return (x - top).exp_()


def masked_softmax_short(logits: Tensor, mask: Tensor) -> Tensor:
    """`masked_softmax` written as exp / sum, for scoring without gradients: torch's CPU softmax over a last dim of
    ~10 entries runs at a tenth of exp's speed. Rows without any valid entry give all-zero weights."""
    e = masked_exp(logits, mask)
    return e / e.sum(-1, keepdim=True).clamp(min=torch.finfo(e.dtype).tiny)


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean of x [..., L, D] over valid positions of mask [..., L]; zero vector where nothing is valid."""
    m = mask.to(x.dtype).expand(x.shape[:-1])
    return (x * m[..., None]).sum(-2) / m.sum(-1, keepdim=True).clamp(min=1.0)


def weighted_mean(x: Tensor, scales: Tensor, mask: Tensor) -> Tensor:
    """masked_mean of s_i x_i: with text-condition scales s = n_valid · w it is the weighted pooling Σ w_i x_i.

    x [..., L, D] (e.g. [V, L, D], query-independent), scales [..., L] (e.g. [Q, V, L]), mask [..., L]. Written
    as a batched matmul so that the per-pair product s_i x_i [Q, V, L, D] is never materialised.
    """
    s = (scales * mask.to(scales.dtype))[..., None, :]
    return (s @ x)[..., 0, :] / mask.sum(-1, keepdim=True).to(x.dtype).clamp(min=1.0)


def scale_bias(scales: Tensor, mask: Tensor) -> Tensor:
    """Additive attention-logit bias log s_j on valid keys (0 on masked ones, which the mask removes anyway).

    softmax_j(l_j + log s_j) ∝ s_j exp(l_j): the attention re-weighted by the text-condition. Unlike scaling
    the tokens (s_j x_j), no LayerNorm of the keys can undo it. s = 1 (no condition) gives a zero bias; s is
    clamped at the smallest normal float so that masked zeros give finite logs (and zero gradients).
    """
    log_s = scales.clamp(min=torch.finfo(scales.dtype).tiny).log()
    return torch.where(mask, log_s, torch.zeros((), dtype=scales.dtype, device=scales.device))


class Attention(nn.Module):
    """Plain multi-head attention: queries from x [..., L, D], keys/values from context [..., M, D];
    optional additive key bias [..., M] (e.g. `scale_bias`)."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.out = (nn.Linear(dim, dim) for _ in range(4))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, context: Tensor, context_mask: Tensor, bias: Tensor | None = None) -> Tensor:
        lead = torch.broadcast_shapes(x.shape[:-2], context.shape[:-2], context_mask.shape[:-1],
                                      *([] if bias is None else [bias.shape[:-1]]))
        (lq, d), lk, h = x.shape[-2:], context.shape[-2], self.heads

        def split(t: Tensor) -> Tensor:   # [..., L, D] -> [..., h, L, D/h]
            return t.unflatten(-1, (h, d // h)).transpose(-2, -3)

        # projected before broadcasting: with query-independent x and context and a per-pair bias ([Q, V, M]),
        # q, k, v and the logits are computed once per video, not once per (query, video) pair
        q, k, v = split(self.q(x)), split(self.k(context)), split(self.v(context))
        logits = (q @ k.transpose(-1, -2) / math.sqrt(d // h)).expand(*lead, h, lq, lk)
        if bias is not None:
            logits = logits + bias[..., None, None, :]
        weights = masked_softmax(logits, context_mask[..., None, None, :])
        out = (self.dropout(weights) @ v).transpose(-2, -3).reshape(*lead, lq, d)
        return self.out(out)
