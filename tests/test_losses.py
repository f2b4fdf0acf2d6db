"""InfoNCE and the HSC cycle-consistency loss on hand-built cases."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tcd.losses import infonce
from tcd.model.hsc import hsc_loss


def test_infonce_limits_and_symmetry():
    b = 6
    assert infonce(torch.zeros(b, b)).item() == pytest.approx(math.log(b))
    assert infonce(50 * torch.eye(b)).item() < 1e-6
    logits = torch.randn(b, b)
    assert infonce(logits).item() == pytest.approx(infonce(logits.T).item())
    manual = (F.cross_entropy(logits, torch.arange(b)) + F.cross_entropy(logits.T, torch.arange(b))) / 2
    assert infonce(logits).item() == pytest.approx(manual.item())


def test_infonce_all_gather_hook_and_shape_check():
    full = torch.randn(4, 4)
    rows = full[:2]   # this rank's queries against all videos; the hook brings the other ranks' rows
    assert infonce(rows, all_gather=lambda local: torch.cat([local, full[2:]])).item() == \
        pytest.approx(infonce(full).item())
    with pytest.raises(ValueError, match="square"):
        infonce(rows)


def one_hot_sequence(n: int, d: int = 16) -> torch.Tensor:
    return torch.eye(d)[:n][None]   # [1, n, d], orthogonal frames


def test_hsc_is_zero_for_aligned_sequences_and_grows_with_misalignment():
    n = 6
    frames = one_hot_sequence(n)
    mask = torch.ones(1, n, dtype=torch.bool)
    aligned = hsc_loss(frames, frames.clone(), mask, mask).item()
    assert aligned < 1e-2
    # windows drift towards a common content: the cycle no longer finds its way back to the frame it left
    common = frames.mean(1, keepdim=True)
    losses = [hsc_loss(frames, (1 - a) * frames + a * common, mask, mask).item() for a in (0.0, 0.6, 0.8, 0.95)]
    assert losses == sorted(losses) and losses[-1] > 1.0
    # windows shifted by two positions (with the first ones empty of distinct content): still positive
    shifted = torch.cat([common.expand(1, 2, -1), frames[:, :-2]], dim=1)
    assert hsc_loss(frames, shifted, mask, mask).item() > aligned + 0.5


def test_hsc_masks_padded_frames_empty_windows_and_textless_videos():
    n = 5
    frames = one_hot_sequence(n).expand(3, -1, -1).clone()
    ocr = frames.clone()
    frame_mask = torch.ones(3, n, dtype=torch.bool)
    ocr_mask = torch.ones(3, n, dtype=torch.bool)
    frame_mask[1, 3:] = False
    ocr_mask[2] = False                     # video 2 has no text at all
    ocr[1, 3:] = torch.randn(2, 16)         # junk behind padding
    ocr[2] = torch.randn(n, 16)             # junk in the empty windows
    loss = hsc_loss(frames, ocr, frame_mask, ocr_mask)
    assert torch.isfinite(loss) and loss.item() < 1e-2
    none = hsc_loss(frames, ocr, frame_mask, torch.zeros(3, n, dtype=torch.bool))
    assert none.item() == 0.0


def test_hsc_is_differentiable():
    frames = torch.randn(2, 4, 8, requires_grad=True)
    ocr = torch.randn(2, 4, 8, requires_grad=True)
    mask = torch.ones(2, 4, dtype=torch.bool)
    hsc_loss(frames, ocr, mask, mask).backward()
    assert torch.isfinite(frames.grad).all() and frames.grad.abs().sum() > 0 and ocr.grad.abs().sum() > 0
