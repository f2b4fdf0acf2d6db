"""InfoNCE and the HSC cycle-consistency loss on hand-built cases."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tcd.losses import infonce
from tcd.model.hsc import caption_runs, hsc_loss


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


T = 0.1   # the hand cases below were built at this temperature (hsc_loss has no default)


def test_hsc_is_zero_for_aligned_sequences_and_grows_with_misalignment():
    n = 6
    frames = one_hot_sequence(n)
    mask = torch.ones(1, n, dtype=torch.bool)
    aligned = hsc_loss(frames, frames.clone(), mask, mask, T).item()
    assert aligned < 1e-2
    # windows drift towards a common content: the cycle no longer finds its way back to the frame it left
    common = frames.mean(1, keepdim=True)
    losses = [hsc_loss(frames, (1 - a) * frames + a * common, mask, mask, T).item() for a in (0.0, 0.6, 0.8, 0.95)]
    assert losses == sorted(losses) and losses[-1] > 1.0
    # windows shifted by two positions (with the first ones empty of distinct content): still positive
    shifted = torch.cat([common.expand(1, 2, -1), frames[:, :-2]], dim=1)
    assert hsc_loss(frames, shifted, mask, mask, T).item() > aligned + 0.5
    # every window a run of its own is the classic cycle-back loss
    singletons = torch.arange(n)[None]
    assert hsc_loss(frames, shifted, mask, mask, T, runs=singletons).item() == \
        pytest.approx(hsc_loss(frames, shifted, mask, mask, T).item())


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
    loss = hsc_loss(frames, ocr, frame_mask, ocr_mask, T)
    assert torch.isfinite(loss) and loss.item() < 1e-2
    none = hsc_loss(frames, ocr, frame_mask, torch.zeros(3, n, dtype=torch.bool), T)
    assert none.item() == 0.0


def test_hsc_is_differentiable():
    frames = torch.randn(2, 4, 8, requires_grad=True)
    ocr = torch.randn(2, 4, 8, requires_grad=True)
    mask = torch.ones(2, 4, dtype=torch.bool)
    hsc_loss(frames, ocr, mask, mask, T).backward()
    assert torch.isfinite(frames.grad).all() and frames.grad.abs().sum() > 0 and ocr.grad.abs().sum() > 0


def windows(n: int, runs: list[list[int]]) -> torch.Tensor:
    """[1, n, 16] OCR windows: every window of a run holds the same caption feature, the sum of the one-hot
    frames listed for it (identical captions give identical features)."""
    e = torch.eye(16)
    return torch.stack([sum(e[k] for k in frames) for frames in runs])[None]


def test_hsc_accepts_any_frame_of_a_caption_run():
    """Frames e0..e5; windows 0-1 show one sign (caption e0+e1), windows 2-4 another (e2+e3+e4), window 5 a
    third (e5). At t = 0.01 the cycle from frame 0 or 1 comes back to μ = 0.5, from 2, 3, 4 to μ = 3, from 5
    to 5. The classic loss has a floor: ((0.5)² + (0.5)² + 1² + 0 + 1² + 0)/6 = 5/12, which pulls each μ to
    its run's centre. With the runs every μ lies inside its run's interval: 0."""
    n = 6
    frames, mask = one_hot_sequence(n), torch.ones(1, n, dtype=torch.bool)
    ocr = windows(n, [[0, 1], [0, 1], [2, 3, 4], [2, 3, 4], [2, 3, 4], [5]])
    runs = torch.tensor([[0, 0, 1, 1, 1, 2]])
    assert hsc_loss(frames, ocr, mask, mask, 0.01).item() == pytest.approx(5 / 12, rel=1e-5)
    assert hsc_loss(frames, ocr, mask, mask, 0.01, runs=runs).item() == pytest.approx(0.0, abs=1e-9)
    # the same with the runs taken from the captions
    captions = [["exit", "exit", "sale", "sale", "sale", "open"]]
    assert torch.equal(caption_runs(captions, mask), runs)


def test_hsc_misalignment_across_runs_still_costs():
    """Runs of windows 0-2 and 3-5, but the first run's caption holds frames 0-1 only (e0+e1) and the second
    frames 2-5: frame 2 goes to the second run and comes back to μ = 3.5, 1.5 outside its run [0, 2]; the
    others come back inside theirs (0.5 or 3.5). Loss = 1.5²/6 = 0.375 (classic: (4·0.5² + 2·1.5²)/6)."""
    n = 6
    frames, mask = one_hot_sequence(n), torch.ones(1, n, dtype=torch.bool)
    ocr = windows(n, [[0, 1]] * 3 + [[2, 3, 4, 5]] * 3)
    runs = torch.tensor([[0, 0, 0, 1, 1, 1]])
    assert hsc_loss(frames, ocr, mask, mask, 0.01, runs=runs).item() == pytest.approx(0.375, rel=1e-5)
    assert hsc_loss(frames, ocr, mask, mask, 0.01).item() == pytest.approx(5.5 / 6, rel=1e-5)
    with pytest.raises(ValueError, match="runs"):
        hsc_loss(frames, ocr, mask, mask, 0.01, runs=runs[:, :4])


def test_caption_runs_break_at_empty_and_masked_windows():
    captions = [["a", "a", "", "", "a"], ["b", "b", "b", "c", "c"]]
    mask = torch.tensor([[True, True, False, False, True], [True, False, True, True, True]])
    assert caption_runs(captions, mask).tolist() == [[0, 0, 1, 2, 3], [0, 1, 2, 3, 3]]


def test_hsc_temperature_has_no_default():
    """The old default t = 0.1 left the tiny preset's cycle uniform, without gradient (model.hsc_temperature)."""
    mask = torch.ones(1, 3, dtype=torch.bool)
    with pytest.raises(TypeError):
        hsc_loss(one_hot_sequence(3), one_hot_sequence(3), mask, mask)
