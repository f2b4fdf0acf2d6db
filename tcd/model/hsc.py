"""HSC, heterogeneous semantics calibrating: a soft temporal cycle-consistency loss between the frame
sequence and the OCR-window sequence (cycle-back regression of Dwibedi et al., CVPR 2019)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from tcd.model.ctcd import masked_softmax


def hsc_loss(frames: Tensor, ocr: Tensor, frame_mask: Tensor, ocr_mask: Tensor,
             temperature: float = 0.1) -> Tensor:
    """Cycle frame i -> soft nearest OCR window -> soft nearest frame; loss = mean (i - μ_i)^2.

    frames [B, N, D], ocr [B, M, D], masks bool [B, N] / [B, M]. With cosine similarities s:
    α_ij = softmax_j(s(v_i, o_j)/t) over valid windows, õ_i = Σ_j α_ij o_j, β_ik = softmax_k(s'(õ_i, v_k)/t)
    over valid frames, μ_i = Σ_k β_ik k. Indices are in frames, so the loss is in frames² (not normalised
    by the variance of β). Averaged over valid frames of videos with at least one valid window; padded
    frames, empty windows and videos without text take no part (a batch without text gives 0).
    """
    v, o = F.normalize(frames, dim=-1), F.normalize(ocr, dim=-1)
    alpha = masked_softmax(v @ o.transpose(1, 2) / temperature, ocr_mask[:, None, :])      # [B, N, M]
    o_soft = alpha @ o                                                                      # [B, N, D]
    beta = masked_softmax(o_soft @ v.transpose(1, 2) / temperature, frame_mask[:, None, :])  # [B, N, N]
    index = torch.arange(frames.shape[1], dtype=frames.dtype, device=frames.device)
    error = (index - beta @ index) ** 2                                                     # [B, N]
    valid = (frame_mask & ocr_mask.any(-1, keepdim=True)).to(frames.dtype)
    return (error * valid).sum() / valid.sum().clamp(min=1.0)
