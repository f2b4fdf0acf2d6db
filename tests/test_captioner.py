import numpy as np
import pytest

from tcd.captioner import (GEOMETRY_FIELDS, instance_tokens, keys_past_end, token_reduction, window_bounds,
                           window_captions, xi_sensitivity)
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

    # the cap counts words, not texts: "express" (8 frames x 0.9) first, then TESCO before 288 (4 frames
    # each, a tie broken by reading order); shown in reading order
    captions, _ = window_captions(tracks, 32, 8, 1.0, max_words=2)
    assert captions[0] == "TESCO express"


def test_a_sparse_track_reaches_the_windows_between_its_keys():
    # Kwai-style track read at keys 3 (top of the frame) and 12 (bottom); 32 frames, 8 windows of 4
    tracks = [track("s", "SPARSE", [3], box(10, 10, 60, 30)), track("m", "middle", range(0, 32), box(10, 50, 60, 70))]
    tracks[0].boxes[12] = box(10, 100, 60, 120)
    captions, mask = window_captions(tracks, 32, 8, 1.0, max_words=10)
    assert captions[:5] == ["SPARSE middle",      # window 0 (frames 0..3) holds key 3
                            "SPARSE middle",      # window 1 (4..7): no key inside; centre 6 is nearest key 3 (top)
                            "middle SPARSE",      # window 2 (8..11): centre 10 is nearest key 12 (bottom)
                            "middle SPARSE",      # window 3 (12..15) holds key 12
                            "middle"]             # window 4 (16..19): after the track


def test_the_word_cap_keeps_the_longest_surest_text_not_the_top_of_the_frame():
    tracks = [
        track("sign", "TESCO express", range(0, 2), box(10, 10, 90, 30), score=0.9),            # 2 x 0.9 = 1.8
        track("banner", "OPEN 24 HOURS EVERY DAY", range(0, 3), box(10, 50, 200, 70), score=0.5),  # 1.5
        track("sub", "Jason Kenny wins gold", range(0, 8), box(10, 130, 200, 150), score=0.9),  # 7.2
    ]
    # reading order cut at 6 words would have been "TESCO express OPEN 24 HOURS EVERY": no subtitle
    assert window_captions(tracks, 16, 2, 1.0, max_words=6)[0][0] == "TESCO express Jason Kenny wins gold"
    # the subtitle fills 4 of 5 words, the sign (next in importance) gets the one left, the banner none
    assert window_captions(tracks, 16, 2, 1.0, max_words=5)[0][0] == "TESCO Jason Kenny wins gold"
    assert window_captions(tracks, 16, 2, 1.0, max_words=3)[0][0] == "Jason Kenny wins"
    captions, mask = window_captions(tracks, 16, 2, 1.0, max_words=0)
    assert captions == ["", ""] and not mask.any()


def test_keys_are_placed_by_their_share_of_the_clip_and_keys_past_the_end_are_counted():
    # a 4 s clip: 32 frames at 8 fps, or the same clip decoded at 16 fps (64 frames, keys doubled)
    at8 = [track("a", "GOLD", [28, 30, 34, 35]), track("b", "LATE", [40]), track("c", "EARLY", [2, 5])]
    at16 = [track(t.track_id, t.text, [2 * k for k in t.boxes]) for t in at8]
    captions8, mask8 = window_captions(at8, 32, 8, 1.0, max_words=10)
    assert captions8 == ["EARLY", "EARLY", "", "", "", "", "", "GOLD"]      # LATE lies wholly past the end
    assert window_captions(at16, 64, 8, 1.0, max_words=10)[0] == captions8
    assert keys_past_end(at8, 32) == 3 and keys_past_end(at16, 64) == 3     # 34, 35 and 40 (x2 at 16 fps)
    assert keys_past_end(at8, 41) == 0


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


def test_xi_sensitivity_counts_words_and_changed_windows():
    # 32 frames, 8 windows of 4; at xi = 0.5 window i keeps frames 4i+1, 4i+2 only
    tracks = [track("a", "A B", [0]), track("c", "C", [5, 6]), track("d", "D E F", [11])]
    table = xi_sensitivity([(tracks, 32), ([], 16)], [0.5, 1.0], n_windows=8, max_words=10)
    assert table.columns.tolist() == ["xi", "words_per_caption", "nonempty_fraction", "changed_fraction"]
    # xi = 1: "A B", "C", "D E F" and 13 empty windows of 16; xi = 0.5: only "C" is left
    np.testing.assert_allclose(table.values, [[0.5, 1 / 16, 1 / 16, 2 / 16], [1.0, 6 / 16, 3 / 16, 0.0]])
