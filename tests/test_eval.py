"""TextVR-protocol metrics on hand-computed matrices."""

import numpy as np
import pytest

from tcd.eval import per_group_metrics, retrieval_metrics, text_to_video_ranks, video_to_text_ranks


def test_perfect_diagonal():
    sim = np.eye(4) + 0.1
    m = retrieval_metrics(sim)
    assert m["t2v"] == {"R@1": 100.0, "R@5": 100.0, "R@10": 100.0, "MdR": 1.0, "MnR": 1.0}
    assert m["v2t"]["R@1"] == 100.0


def test_hand_computed_ranks():
    sim = np.array(
        [
            [0.9, 0.1, 0.2],  # true 0 is best -> rank 0
            [0.8, 0.5, 0.7],  # true 1 is third -> rank 2
            [0.3, 0.3, 0.1],  # true 2 is last -> rank 2
        ]
    )
    np.testing.assert_allclose(text_to_video_ranks(sim), [0, 2, 2])
    m = retrieval_metrics(sim)["t2v"]
    assert m["R@1"] == pytest.approx(100 / 3)
    assert m["MdR"] == 3.0
    assert m["MnR"] == pytest.approx(1 + 4 / 3)


def test_ties_are_averaged():
    # A constant matrix must not look good: every true item ties with all n items -> rank (n-1)/2.
    sim = np.zeros((5, 5))
    np.testing.assert_allclose(text_to_video_ranks(sim), [2.0] * 5)
    assert retrieval_metrics(sim)["t2v"]["R@1"] == 0.0
    # tie between true item and one other at the top: positions 0 and 1 -> rank 0.5 (< 1 counts as hit)
    sim = np.array([[0.5, 0.5, 0.1], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(text_to_video_ranks(sim), [0.5, 0, 0])


def test_multi_caption_mapping_and_v2t_best_rank():
    # 4 captions for 2 videos; caption 2 and 3 belong to video 0 (permuted order like TextVR_test_rand).
    sim = np.array(
        [
            [0.1, 0.9],  # video 1 -> rank 0
            [0.9, 0.1],  # video 1 -> rank 1
            [0.2, 0.8],  # video 0 -> rank 1
            [0.7, 0.3],  # video 0 -> rank 0
        ]
    )
    caption_video = [1, 1, 0, 0]
    np.testing.assert_allclose(text_to_video_ranks(sim, caption_video), [0, 1, 1, 0])
    # v2t: video 0 column = [0.1, 0.9, 0.2, 0.7]; its captions 2 (0.2 -> rank 2) and 3 (0.7 -> rank 1): best 1
    # video 1 column = [0.9, 0.1, 0.8, 0.3]; captions 0 (rank 0), 1 (rank 3): best 0
    np.testing.assert_allclose(video_to_text_ranks(sim, caption_video), [1, 0])
    assert retrieval_metrics(sim, caption_video)["v2t"]["R@1"] == 50.0


def test_rectangular_without_mapping_fails_loudly():
    with pytest.raises(ValueError, match="caption_video"):
        retrieval_metrics(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="outside"):
        retrieval_metrics(np.zeros((2, 2)), [0, 5])


def test_per_group_uses_whole_gallery():
    sim = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    table = per_group_metrics(sim, None, ["a", "a", "b"]).set_index("group")
    assert table.loc["a", "n_captions"] == 2
    assert table.loc["a", "R@1"] == 50.0  # caption 0 loses to video 2, which is in group b
    assert table.loc["b", "R@1"] == 100.0
