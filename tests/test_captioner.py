import numpy as np
import pytest

from tcd.captioner import GEOMETRY_FIELDS, instance_tokens, token_reduction, window_bounds, window_captions
from tcd.corpus.textvr import OcrTrack


def box(x1, y1, x2, y2):
    return (x1, y1, x2, y1, x2, y2, x1, y2)


def track(tid, text, frames, quad=box(10, 10, 50, 30), score=0.9):
    return OcrTrack(track_id=tid, text=text, score=score, boxes={f: quad for f in frames})


def test_window_bounds_hand_cases():
    full = window_bounds(32, 8, 1.0)
    np.testing.assert_allclose(full, [[4 * i, 4 * i + 4] for i in range(8)])
    half = window_bounds(32, 8, 0.5)
    np.testing.assert_allclose(half, [[4 * i + 1, 4 * i + 3] for i in range(8)])
    with pytest.raises(ValueError):
        window_bounds(32, 8, 0.0)


def test_captions_membership_dedupe_and_reading_order():
    tracks = [
        track("a", "express", range(0, 8), box(12, 60, 60, 80)),       # second row
        track("b", "TESCO", range(0, 4), box(10, 10, 60, 30)),         # first row, left
        track("c", "288", range(0, 4), box(70, 12, 100, 31)),          # first row, right (slightly lower)
        track("d", "tesco", range(2, 4), box(10, 100, 60, 120)),       # duplicate reading, lower down
        track("e", "Kenny", [17], box(10, 10, 50, 30)),                # only window 4
    ]
    captions, mask = window_captions(tracks, 32, 8, 1.0, max_words=50)
    assert captions[0] == "TESCO 288 express"
    assert captions[1] == "express"
    assert captions[4] == "Kenny"
    assert mask.tolist() == [True, True, False, False, True, False, False, False]
    assert all(c == "" for c, m in zip(captions, mask) if not m)

    # xi = 0.5: window 0 is [1, 3), window 4 is [17, 19): the same tracks are still inside;
    # window 1 is [5, 7) and still holds "express" (frames 0..7)
    captions, mask = window_captions(tracks, 32, 8, 0.5, max_words=50)
    assert captions[:2] == ["TESCO 288 express", "express"] and mask[4]

    # word cap counts words, not texts
    captions, _ = window_captions(tracks, 32, 8, 1.0, max_words=2)
    assert captions[0] == "TESCO 288"


def test_tiny_windows_fall_back_to_the_frame_nearest_the_centre():
    # 10 frames, 4 windows of 2.5 frames; xi = 0.2 -> window 0 is [1.0, 1.5): contains frame 1;
    # window 1 is [3.5, 4.0): no integer frame -> nearest frames to 3.75 -> frame 4
    tracks = [track("a", "left", [4])]
    captions, mask = window_captions(tracks, 10, 4, 0.2, max_words=5)
    assert captions == ["", "left", "", ""] and mask.tolist() == [False, True, False, False]


def test_no_text_video():
    captions, mask = window_captions([], 120, 12, 1.0, max_words=30)
    assert captions == [""] * 12 and mask.dtype == bool and not mask.any()
    words, geometry = instance_tokens([], 120, 224, 160)
    assert words == [] and geometry.shape == (0, 12) and geometry.dtype == np.float32
    assert token_reduction([], 120, 12) == (0, 0, 0)


def test_instance_tokens_filter_dedupe_cap_and_geometry():
    tracks = [
        track("a", "The TESCO express", range(10, 21), box(22.4, 16, 112, 48), score=0.5),
        track("b", "tesco GB", range(40, 50), box(0, 80, 224, 160), score=0.9),
        track("c", "北京 café 2020", range(0, 5), box(0, 0, 10, 10), score=0.7),
    ]
    words, geometry = instance_tokens(tracks, num_frames=100, width=224, height=160, max_words=200)
    # "GB" (< 3 chars), "北京" and "café" (non-Latin characters) are dropped; "tesco" keeps score 0.9
    assert words == ["tesco", "2020", "the", "express"]
    assert geometry.shape == (4, 12) and geometry.dtype == np.float32
    assert (geometry >= 0).all() and (geometry <= 1).all()
    assert len(GEOMETRY_FIELDS) == 12
    np.testing.assert_allclose(geometry[0], [0, 0.5, 1, 1, 0.5, 0.75, 1, 0.5, 0.40, 0.50, 0.45, 0.10], atol=1e-6)
    np.testing.assert_allclose(geometry[2], [0.1, 0.1, 0.5, 0.3, 0.3, 0.2, 0.4, 0.2, 0.10, 0.21, 0.155, 0.11],
                               atol=1e-6)
    words, geometry = instance_tokens(tracks, 100, 224, 160, max_words=2)
    assert words == ["tesco", "2020"] and geometry.shape == (2, 12)


def test_token_reduction_counts():
    tracks = [track(str(i), f"word{i} more{i}", range(8 * i, 8 * i + 4)) for i in range(4)]
    assert token_reduction(tracks, num_frames=32, n_windows=8) == (4, 8, 4)
