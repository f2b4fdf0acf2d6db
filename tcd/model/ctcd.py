"""TCD's query-dependent parts: video-OCR co-attention and CTCD (context-guided temporal clue distilling).

Shapes as in attention.py. Text-condition enters every part the same way (see condition.py): tokens stay
as encoded, and the scales s (frames) and r (OCR windows) act as key biases log s in the attentions and as
weights of the pooling. Scaling the tokens instead (s_i f_i) would be undone by the LayerNorms in front of
the attentions, which left the hybrid clue nearly query-independent.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

# masked_softmax / masked_mean are re-exported for callers that still import them from here (tcd.viz, notebooks)
from tcd.model.attention import Attention, masked_exp, masked_mean, masked_softmax, masked_softmax_short, \
    scale_bias, weighted_mean  # noqa: F401


class VideoOcrCoAttention(nn.Module):
    """Video-OCR co-attention under the text-condition: Ṽ = F + Attn(F -> O | log r), Õ = O + Attn(O -> F | log s).

    Each frame attends to the OCR windows with weights ∝ r_j exp(l_ij), the attention re-weighted by the
    windows' text-condition scales r (an additive key bias log r_j, condition.py), and each window to the
    frames with the frames' scales s. Projections are bias-free and applied to LN(F), LN(O), so the logits
    l_ij = ⟨W_q LN(F_i), W_k LN(O_j)⟩/√d_h and the output-projected values are query-independent and computed
    once per video by `prepare`; a pair only adds its bias, takes the softmax and mixes precomputed values.
    This is exact (not an approximation) and makes all-pairs scoring O(H N^2 D) per pair instead of O(N D^2).
    The tokens are not rescaled (the pooling and CTCD weight them by s, r), so no normalisation can undo the
    condition. The output projection starts at zero, so at initialisation Ṽ = F, Õ = O.
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

    @staticmethod
    def weights(logits: Tensor, scales: Tensor, mask: Tensor) -> Tensor:
        """Attention weights [Q, V, H, Lx, Ly] from precomputed logits [V, H, Lx, Ly] and the keys' scales
        [Q, V, Ly] and mask [V, Ly]: softmax_j(l_ij + log s_j) over valid keys."""
        bias = scale_bias(scales, mask)[:, :, None, None, :]
        return masked_softmax(logits + bias, mask[None, :, None, None, :])

    @staticmethod
    def mixing_kernel(logits: Tensor, mask: Tensor) -> Tensor:
        """Per-video part of `mixing`: K = exp(l - max_j l) on valid keys, 0 on masked ones, laid out [V, Lx, H, Ly]
        from logits [V, H, Lx, Ly] and the keys' mask [V, Ly] (query-independent, computed once per video)."""
        return masked_exp(logits, mask[:, None, None, :]).transpose(1, 2).contiguous()

    @staticmethod
    def mixing(kernel: Tensor, scales: Tensor) -> Tensor:
        """`weights` laid out as A [V, Q, Lx, H·Ly] (videos first; scales [V, Q, Ly]) from `mixing_kernel`'s K, so that
        Ṽ = F + A @ U with U = the values [V, H·Ly, D] (values.flatten(1, 2)): each token's weights over all heads'
        keys in one row. softmax_j(l_ij + log s_j) = K_ij s_j / Σ_j K_ij s_j (exact; no exp per pair, and torch's
        CPU softmax over ~10 keys is slow). A video without any valid key gets zeros."""
        weights = kernel[:, None] * scales.contiguous()[:, :, None, None, :]             # [V, Q, Lx, H, Ly]
        total = weights.sum(-1, keepdim=True).clamp_(min=torch.finfo(weights.dtype).tiny)
        return weights.div_(total).flatten(-2)

    def forward(self, prep: dict[str, Tensor], frames: Tensor, ocr: Tensor, s: Tensor, r: Tensor,
                frame_mask: Tensor, ocr_mask: Tensor) -> tuple[Tensor, Tensor]:
        """s, r [Q, V, N] token scales (Q may be 1); frames, ocr [V, N, D] -> Ṽ, Õ [Q, V, N, D]."""
        to_ocr = self.weights(prep["co_logits_vo"], r, ocr_mask)
        to_video = self.weights(prep["co_logits_ov"], s, frame_mask)
        video = frames + torch.einsum("qvhxy,vhyd->qvxd", to_ocr, prep["co_values_o"])
        text = ocr + torch.einsum("qvhxy,vhyd->qvxd", to_video, prep["co_values_v"])
        return video, text


class ClueAttention(nn.Module):
    """Multi-head cross-attention read out at one learnable query token (a clue): clue' = MHA(clue, X, X).

    In CTCD the clue is concatenated with its modality's tokens as queries, [clue; X_own], attending to the
    other modality's tokens. Rows of a cross-attention do not interact, so the clue's output row does not
    depend on the other query rows; only that row is used, so only it is computed. With one query the keys
    need not be projected: ⟨W_q c, W_k x_j⟩ = ⟨W_kᵀ W_q c, x_j⟩, and the values are pooled before W_v
    (both exact), which keeps the per-pair cost at O(H N D + D^2). The text-condition enters as the key bias
    (log s_j, `scale_bias`); x itself may then stay query-independent ([V, L, D] against a bias [Q, V, L]),
    and its LayerNorm is computed once per video.
    """

    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.heads = heads
        self.norm_query, self.norm_kv = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.q, self.v, self.out = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim, bias=False)   # a key bias adds a constant per head to all logits: it cancels
        self.dropout = nn.Dropout(dropout)

    def forward(self, clue: Tensor, x: Tensor, mask: Tensor, bias: Tensor | None = None) -> Tensor:
        """clue [D] (one learnable token), x [..., L, D], mask [..., L], bias [..., L] -> [..., D]."""
        h, d = self.heads, clue.shape[-1]
        q = self.q(self.norm_query(clue)).view(h, d // h)
        u = torch.einsum("hk,hkd->hd", q, self.k.weight.view(h, d // h, d)) / math.sqrt(d // h)   # [H, D]
        x = self.norm_kv(x)
        logits = (x @ u.T).transpose(-1, -2)                                                      # [..., H, L]
        if bias is not None:
            logits = logits + bias[..., None, :]
        weights = self.dropout(masked_softmax(logits, mask[..., None, :]))                         # [..., H, L]
        pooled = weights @ x                                                                      # [..., H, D]
        values = torch.einsum("...hd,hkd->...hk", pooled, self.v.weight.view(h, d // h, d))
        values = values + weights.sum(-1, keepdim=True) * self.v.bias.view(h, d // h)
        return self.out(values.flatten(-2))

    def prepare_mixed(self, clue: Tensor, base: Tensor, values: Tensor | None) -> dict[str, Tensor]:
        """Per-video part of `read_mixed` for tokens x_i = base_i + A_i @ U (base [V, L, D], values U [V, M, D], or
        None without a mix): products of the centred rows with the clue's logit and value maps, and U's Gram matrix."""
        h, d = self.heads, clue.shape[-1]
        q = self.q(self.norm_query(clue)).view(h, d // h)
        u = torch.einsum("hk,hkd->hd", q, self.k.weight.view(h, d // h, d)) / math.sqrt(d // h)   # [H, D]
        norm = self.norm_kv
        g, w_v = norm.weight * u, self.v.weight.view(h, d // h, d) * norm.weight                     # [H, D], [H, dh, D]
        centred = base - base.mean(-1, keepdim=True)                                               # [V, L, D]
        prep = dict(sq=(centred * centred).sum(-1), xg=centred @ g.T, proj=torch.einsum("vld,hkd->vhlk", centred, w_v).contiguous(),
                    beta_u=(u @ norm.bias).expand(len(base), h))
        if values is not None:
            u_c = values - values.mean(-1, keepdim=True)                                           # Ũ [V, M, D]
            prep.update(gram=u_c @ u_c.transpose(1, 2), cross=centred @ u_c.transpose(1, 2), mix_g=u_c @ g.T,
                        mix_proj=torch.einsum("vmd,hkd->vhmk", u_c, w_v).contiguous())
        return prep

    def read_mixed(self, prep: dict[str, Tensor], mix: Tensor | None, mask: Tensor, bias: Tensor) -> Tensor:
        """`forward` before `out`, [V, Q, D] (videos first), on the tokens x_i = base_i + A_i @ U (mix: A
        [V, Q, L, M], the co-attention; None: x = base) from `prepare_mixed`, without forming x (exact, for scoring).

        LN(x_i) = γ∘x̃_i/σ_i + β with x̃ = x - mean(x) = base~_i + A_i Ũ (centred rows), so every product with LN(x)
        is one of per-video tensors mixed by A: σ_i² = (|base~_i|² + 2 A_i·(Ũ base~_i) + A_i G A_iᵀ)/D + eps with
        G = Ũ Ũᵀ; the logits ⟨LN(x_i), u_h⟩ and the projected pooled values W_v Σ_i w_hi LN(x_i) likewise.
        bias [V, Q, L]: the key bias (log s); mask [V, L].
        """
        d = self.v.weight.shape[0]
        sq, xg = prep["sq"][:, None], prep["xg"][:, None]                                         # [V, 1, L], [V, 1, L, H]
        if mix is not None:
            v_, q_, l_, m_ = mix.shape
            a_v = mix.view(v_, q_ * l_, m_)                                                        # [V, Q·L, M]
            quad = (a_v @ prep["gram"]).view(mix.shape).add_(prep["cross"][:, None], alpha=2.0)
            sq = sq + quad.mul_(mix).sum(-1)
            xg = xg + (a_v @ prep["mix_g"]).view(v_, q_, l_, -1)
        sigma = (sq.clamp(min=0) / d + self.norm_kv.eps).sqrt()                                     # [V, Q, L]
        logits = (xg / sigma[..., None] + prep["beta_u"][:, None, None]).transpose(-1, -2) + bias[..., None, :]
        weights = masked_softmax_short(logits, mask[:, None, None, :])                             # [V, Q, H, L]
        scaled = weights / sigma[..., None, :]                                                     # w_hi / σ_i
        out = scaled.transpose(1, 2) @ prep["proj"]                                                # [V, H, Q, dh]
        if mix is not None:
            out = out + (scaled @ mix).transpose(1, 2) @ prep["mix_proj"]
        h = weights.shape[2]
        offset = (self.v.weight @ self.norm_kv.bias + self.v.bias).view(h, d // h)
        return (out.transpose(1, 2) + weights.sum(-1)[..., None] * offset).flatten(-2)


class ClueDistilling(nn.Module):
    """CTCD (Algorithm 1): learnable video and OCR clues C_V, C_O with type embeddings; the video clue travels
    with the video tokens and attends to the OCR tokens, the OCR clue the other way round (the figure's
    reading); one shared cross-attention, the type embeddings tell the modalities apart. Hybrid clue = mean
    of the clues that read something: a video without text has only the OCR clue (a learned, text-conditioned
    reading of its frames), so the hybrid exists for every video; the video clue, which would read nothing
    and return a constant, is left out."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.video_clue = nn.Parameter(torch.randn(dim) * 0.02)
        self.ocr_clue = nn.Parameter(torch.randn(dim) * 0.02)
        self.type_embedding = nn.Parameter(torch.randn(2, dim) * 0.02)    # [0] video, [1] OCR
        self.cross_attention = ClueAttention(dim, heads, dropout)

    @staticmethod
    def has_hybrid(frame_mask: Tensor, ocr_mask: Tensor) -> Tensor:
        """Whether a video [...] has a hybrid clue: some clue had keys to read."""
        return frame_mask.any(-1) | ocr_mask.any(-1)

    def forward(self, video: Tensor, ocr: Tensor, s: Tensor, r: Tensor, frame_mask: Tensor,
                ocr_mask: Tensor) -> Tensor:
        """video, ocr [..., N, D] (Ṽ, Õ), s, r [..., N] their text-condition scales -> hybrid clue [..., D]."""
        e_video, e_ocr = self.type_embedding
        video_clue = self.cross_attention(self.video_clue + e_video, ocr + e_ocr, ocr_mask, scale_bias(r, ocr_mask))
        ocr_clue = self.cross_attention(self.ocr_clue + e_ocr, video + e_video, frame_mask,
                                        scale_bias(s, frame_mask))
        read_o, read_v = (m.any(-1, keepdim=True).to(video_clue.dtype) for m in (ocr_mask, frame_mask))
        return (read_o * video_clue + read_v * ocr_clue) / (read_o + read_v).clamp(min=1.0)

    def prepare_batched(self, frames: Tensor, ocr: Tensor, co_values: tuple[Tensor, Tensor] | None
                        ) -> dict[str, Tensor]:
        """Per-video tensors of `batched` (keys clue_v_*, clue_o_*); co_values: the co-attention's (U of Ṽ, U of Õ)
        [V, M, D] (`VideoOcrCoAttention.mixing`), None without co-attention."""
        e_video, e_ocr = self.type_embedding
        to_ocr, to_video = co_values if co_values is not None else (None, None)
        video = self.cross_attention.prepare_mixed(self.video_clue + e_video, ocr + e_ocr, to_video)
        ocr_ = self.cross_attention.prepare_mixed(self.ocr_clue + e_ocr, frames + e_video, to_ocr)
        return {**{f"clue_v_{k}": x for k, x in video.items()}, **{f"clue_o_{k}": x for k, x in ocr_.items()}}

    def batched(self, prep: dict[str, Tensor], s: Tensor, r: Tensor, frame_mask: Tensor, ocr_mask: Tensor,
                to_ocr: Tensor | None, to_video: Tensor | None) -> Tensor:
        """`forward` for all pairs from `prepare_batched`'s tensors, videos first (s, r [V, Q, N]): Ṽ = frames +
        to_ocr @ U and Õ = ocr + to_video @ U (the co-attention's weights A [V, Q, N, M]; None without it) are
        never formed -> hybrid [V, Q, D]."""
        attention = self.cross_attention
        part = lambda key: {k[len(key):]: x for k, x in prep.items() if k.startswith(key)}
        video_clue = attention.read_mixed(part("clue_v_"), to_video, ocr_mask, scale_bias(r, ocr_mask[:, None]))
        ocr_clue = attention.read_mixed(part("clue_o_"), to_ocr, frame_mask, scale_bias(s, frame_mask[:, None]))
        read_o, read_v = (m.any(-1)[:, None, None].to(video_clue.dtype) for m in (ocr_mask, frame_mask))
        count = (read_o + read_v).clamp(min=1.0)
        # `out` is affine: the mean of the two clues' outputs is `out` of the mean, its bias weighted alike
        mixed = (read_o * video_clue + read_v * ocr_clue) / count
        return mixed @ attention.out.weight.T + ((read_o + read_v) / count) * attention.out.bias


class PlainCrossAttention(nn.Module):
    """Table A4's "no modules" row: CTCD replaced by plain cross-attention (no clues, no type embeddings).
    Each modality's tokens attend to the other's (keys biased by their text-condition scales); hybrid = mean
    of the two outputs pooled with the queries' scales. Both directions need OCR tokens, so a video without
    text has no hybrid (zero vector, left out of S)."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.cross_attention = Attention(dim, heads, dropout)

    @staticmethod
    def has_hybrid(frame_mask: Tensor, ocr_mask: Tensor) -> Tensor:
        return frame_mask.any(-1) & ocr_mask.any(-1)

    def forward(self, video: Tensor, ocr: Tensor, s: Tensor, r: Tensor, frame_mask: Tensor,
                ocr_mask: Tensor) -> Tensor:
        v, o = self.norm(video), self.norm(ocr)
        from_video = weighted_mean(self.cross_attention(v, o, ocr_mask, scale_bias(r, ocr_mask)), s, frame_mask)
        from_ocr = weighted_mean(self.cross_attention(o, v, frame_mask, scale_bias(s, frame_mask)), r, ocr_mask)
        both = self.has_hybrid(frame_mask, ocr_mask)[..., None].to(from_video.dtype)
        return both * (from_video + from_ocr) / 2
