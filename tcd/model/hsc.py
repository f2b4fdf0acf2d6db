"""HSC, heterogeneous semantics calibrating: a soft temporal cycle-consistency loss between the frame
sequence and the OCR-window sequence (cycle-back regression of Dwibedi et al., CVPR 2019), made tolerant of
caption runs: a sign that stays on screen gives consecutive windows the same caption (the same feature), so
the cycle cannot tell those windows' frames apart and may come back to any of them."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from tcd.model.attention import masked_softmax


def caption_runs(captions: list[list[str]], mask: Tensor) -> Tensor:
    """Run id [V, N] of each window: consecutive valid windows with the same caption share an id (ids count
    up from 0 along a row); an empty or masked window is a run of its own. captions: V lists of N strings."""
    same = torch.tensor([[j > 0 and row[j] == row[j - 1] for j in range(len(row))] for row in captions],
                        dtype=torch.bool, device=mask.device).reshape(mask.shape)
    same = same & mask & mask.roll(1, dims=-1)    # column 0 is never `same`, so the roll's wrap-around is moot
    return torch.cumsum((~same).long(), dim=-1) - 1


def run_intervals(runs: Tensor) -> tuple[Tensor, Tensor]:
    """First and last window index [B, N] (float) of the run that contains each window; runs [B, N] ids."""
    index = torch.arange(runs.shape[-1], dtype=torch.float32, device=runs.device)
    same = runs[..., :, None] == runs[..., None, :]                                         # [B, N, N]
    first = torch.where(same, index, torch.tensor(float("inf"), device=runs.device)).amin(-1)
    last = torch.where(same, index, torch.tensor(float("-inf"), device=runs.device)).amax(-1)
    return first, last


def hsc_loss(frames: Tensor, ocr: Tensor, frame_mask: Tensor, ocr_mask: Tensor, temperature: float,
             runs: Tensor | None = None) -> Tensor:
    """Cycle frame i -> soft nearest OCR window -> soft nearest frame μ_i; loss = mean dist(μ_i, R_i)^2.

    frames [B, N, D], ocr [B, M, D], masks bool [B, N] / [B, M]. With cosine similarities s:
    α_ij = softmax_j(s(v_i, o_j)/t) over valid windows, õ_i = Σ_j α_ij o_j, β_ik = softmax_k(s'(õ_i, v_k)/t)
    over valid frames, μ_i = Σ_k β_ik k. Window j belongs to frame j; R_i = [a_i, b_i] is the frame interval
    of the caption run holding window i (`runs` [B, N] run ids, see `caption_runs`, require M = N), and the
    error is the distance from μ_i to it: 0 anywhere inside, so a run does not pull μ_i to its centre (the
    floor that drove the cycle towards uniform). runs=None: every window its own run, R_i = {i}, the
    classic (i - μ_i)^2. Indices are in frames, so the loss is in frames² (not normalised by the variance of
    β). Averaged over valid frames of videos with at least one valid window; padded frames, empty windows and
    videos without text take no part (a batch without text gives 0). `temperature` has no default: on weakly
    spread cosines a large t leaves α, β uniform and the loss without gradient (see model.hsc_temperature).
    """
    v, o = F.normalize(frames, dim=-1), F.normalize(ocr, dim=-1)
    alpha = masked_softmax(v @ o.transpose(1, 2) / temperature, ocr_mask[:, None, :])      # [B, N, M]
    o_soft = alpha @ o                                                                      # [B, N, D]
    beta = masked_softmax(o_soft @ v.transpose(1, 2) / temperature, frame_mask[:, None, :])  # [B, N, N]
    index = torch.arange(frames.shape[1], dtype=frames.dtype, device=frames.device)
    mu = beta @ index                                                                       # [B, N]
    if runs is None:
        first = last = index
    else:
        if runs.shape != frame_mask.shape or runs.shape != ocr_mask.shape:
            raise ValueError(f"runs {tuple(runs.shape)} must match frame_mask {tuple(frame_mask.shape)} "
                             f"and ocr_mask {tuple(ocr_mask.shape)} (one window per frame)")
        first, last = (x.to(frames.dtype) for x in run_intervals(runs))
    error = (first - mu).clamp(min=0) ** 2 + (mu - last).clamp(min=0) ** 2                  # [B, N]
    valid = (frame_mask & ocr_mask.any(-1, keepdim=True)).to(frames.dtype)
    return (error * valid).sum() / valid.sum().clamp(min=1.0)
