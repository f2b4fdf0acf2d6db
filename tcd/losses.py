"""Contrastive loss on the (query x video) score matrix."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def infonce(logits: Tensor, all_gather: Callable[[Tensor], Tensor] | None = None) -> Tensor:
    """Symmetric InfoNCE: mean of text->video and video->text cross-entropy, positives on the diagonal.

    logits [B, B]: scaled similarities (logit_scale * S), row i = query i, column j = video j.
    all_gather: hook for data parallel training; each rank scores its B_local queries against the gathered
    videos ([B_local, B_global] logits) and `all_gather` (differentiable, e.g. torch.distributed.nn
    all_gather + cat) stacks the rows of all ranks into the full square matrix. None: single process.
    """
    if all_gather is not None:
        logits = all_gather(logits)
    if logits.shape[0] != logits.shape[1]:
        raise ValueError(f"infonce needs a square logits matrix, got {tuple(logits.shape)}")
    target = torch.arange(logits.shape[0], device=logits.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
