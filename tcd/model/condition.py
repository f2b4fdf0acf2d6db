"""Text-condition: the query re-weights frame (or OCR-window) tokens. TCD's parameter-free form with τ, and
the X-Pool baseline's learned text-conditioned pooling."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tcd.model.attention import masked_softmax


def text_condition_scales(queries: Tensor, tokens: Tensor, mask: Tensor, tau: float) -> Tensor:
    """TCD's text-condition: per-token scales s [Q, V, N] for queries [Q, D] and tokens [V, N, D].

    Convention (the paper prints no formula): w_i = softmax_i(τ · cos(t, f_i)) over the valid tokens, so τ
    multiplies (an inverse temperature, like CLIP's logit scale). Cosines lie in [-1, 1], so dividing by
    τ = 5 would give nearly uniform weights, i.e. mean pooling, whatever the query; multiplying makes τ = 5
    a real but soft selection, τ = 0.1 ≈ mean pooling and τ = 10 close to picking the best frame.
    The scales are s_i = n_valid · w_i (a uniform weighting gives s = 1). The model never multiplies a token
    by s_i: a LayerNorm in front of an attention would remove that factor again. s acts as pooling weights
    (masked mean of s_i f_i = Σ_i w_i f_i, `attention.weighted_mean`, X-Pool-style weighted pooling) and as
    the additive key bias log s_i in co-attention and CTCD (`attention.scale_bias`: weights ∝ s_i exp(l_i)).
    Masked tokens get s = 0; a video whose tokens are all masked (no text at all) gets s = 0 everywhere.
    """
    cos = torch.einsum("qd,vnd->qvn", F.normalize(queries, dim=-1), F.normalize(tokens, dim=-1))
    weights = masked_softmax(tau * cos, mask[None])
    return weights * mask.sum(-1).to(weights.dtype)[None, :, None]


class XPool(nn.Module):
    """X-Pool (Gorti et al., CVPR 2022) text-conditioned pooling, as in its public code: the text embedding
    attends to the frame embeddings (scaled dot product, `heads` heads, one by default), followed by
    LayerNorm, a linear layer with residual and dropout, and a final LayerNorm. Keys and values depend on
    the video only and are computed once by `prepare`."""

    def __init__(self, dim: int, heads: int = 1, dropout: float = 0.0):
        super().__init__()
        self.heads = heads
        self.norm_in, self.norm_attn, self.norm_out = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.q, self.k, self.v, self.out = (nn.Linear(dim, dim) for _ in range(4))
        self.linear = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def prepare(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """tokens [V, N, D] -> keys, values [V, H, N, dh]."""
        x = self.norm_in(tokens)
        h, d = self.heads, x.shape[-1]
        split = lambda t: t.unflatten(-1, (h, d // h)).transpose(-2, -3)
        return split(self.k(x)), split(self.v(x))

    def forward(self, queries: Tensor, keys: Tensor, values: Tensor, mask: Tensor) -> Tensor:
        """queries [Q, D], keys/values [V, H, N, dh], mask [V, N] -> pooled [Q, V, D]."""
        h, d = self.heads, queries.shape[-1]
        q = self.q(self.norm_in(queries)).view(-1, h, d // h)
        logits = torch.einsum("qhk,vhnk->qvhn", q, keys) / math.sqrt(d // h)
        weights = self.dropout(masked_softmax(logits, mask[None, :, None, :]))
        attended = torch.einsum("qvhn,vhnk->qvhk", weights, values).flatten(-2)
        attended = self.norm_attn(self.out(attended))
        return self.norm_out(attended + self.dropout(self.linear(attended)))
