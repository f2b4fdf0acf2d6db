"""TextVR-protocol metrics on hand-computed matrices, and the metrics file's layout."""

import json

import numpy as np
import pytest

from tcd.eval import (headline, metrics_document, per_group_metrics, retrieval_metrics, save_scores, seed_sd,
                      text_to_video_ranks, video_to_text_ranks)


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
    # tie between true item and one other at the top: positions 0 and 1 -> rank 0.5, an R@1 miss (TextVR: rank == 0)
    sim = np.array([[0.5, 0.5, 0.1], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(text_to_video_ranks(sim), [0.5, 0, 0])
    assert retrieval_metrics(sim)["t2v"]["R@1"] == pytest.approx(200 / 3)
    assert retrieval_metrics(sim)["t2v"]["MnR"] == pytest.approx(1 + 0.5 / 3)


def test_r1_needs_a_clear_top_rank_as_in_textvr():
    # TextVR's cols2metrics: R@1 = rank == 0, R@5 = rank < 5. A caption scores three videos [2, 2, 0] and its
    # true video is the first: tied at the top, rank (0 + 1) / 2 = 0.5 -> R@1 miss, R@5 and R@10 hit.
    sim = np.array([[2.0, 2.0, 0.0]])
    m = retrieval_metrics(sim, [0])
    assert m["t2v"] == {"R@1": 0.0, "R@5": 100.0, "R@10": 100.0, "MdR": 1.5, "MnR": 1.5}
    assert m["v2t"]["R@1"] == 100.0  # video 0's only caption is the only caption: rank 0
    # video->text the same way: both captions score 1 for video 0 -> its caption ties at the top, rank 0.5
    sim = np.array([[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(video_to_text_ranks(sim, [0, 1]), [0.5, 0.5])
    assert retrieval_metrics(sim, [0, 1])["v2t"] == {"R@1": 0.0, "R@5": 100.0, "R@10": 100.0, "MdR": 1.5, "MnR": 1.5}


def test_undecodable_columns_rank_last_with_ties_averaged():
    # videos 2 and 3 could not be decoded: their columns are -inf (tcd.eval.score_gallery)
    inf = -np.inf
    sim = np.array([[0.9, 0.1, inf, inf], [0.2, 0.3, inf, inf], [0.5, 0.4, inf, inf], [0.1, 0.6, inf, inf]])
    # caption 1: 0.3 > 0.2 -> rank 0; captions 2 and 3: two real videos above, tied with the other -inf -> 2 + 1/2
    np.testing.assert_allclose(text_to_video_ranks(sim), [0, 0, 2.5, 2.5])
    # v2t: a -inf column ties all 4 captions -> (4 - 1) / 2 = 1.5; video 1's column [.1 .3 .4 .6]: caption 1 third
    np.testing.assert_allclose(video_to_text_ranks(sim), [0, 2, 1.5, 1.5])
    m = retrieval_metrics(sim)
    assert m["t2v"]["R@1"] == 50.0 and m["t2v"]["MnR"] == pytest.approx(1 + 5 / 4) and m["t2v"]["R@5"] == 100.0


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


def per_seed_metrics(t2v_r1):
    block = {"R@1": 0.0, "R@5": 50.0, "R@10": 60.0, "MdR": 3.0, "MnR": 4.0}
    return {"t2v": block | {"R@1": t2v_r1}, "v2t": dict(block)}


def test_metrics_document_means_sample_sd_and_layout():
    doc = metrics_document({0: per_seed_metrics(10.0), 1: per_seed_metrics(20.0), 2: per_seed_metrics(60.0)},
                           n_captions=7, n_videos=6, undecodable_videos=1)
    assert list(doc)[:3] == ["t2v", "v2t", "std"]  # headline first for `dvc metrics show`
    assert doc["t2v"]["R@1"] == pytest.approx(30.0)
    # sample sd: deviations -20, -10, 30 -> sqrt((400 + 100 + 900) / 2) = sqrt(700); the population sd would be 21.6
    assert doc["std"]["t2v"]["R@1"] == pytest.approx(26.457513) and doc["std_ddof"] == 1
    assert doc["std"]["v2t"]["MnR"] == 0.0 and doc["v2t"]["R@10"] == 60.0
    assert doc["seeds"] == [0, 1, 2] and doc["per_seed"]["2"]["t2v"]["R@1"] == 60.0
    assert (doc["n_captions"], doc["n_videos"], doc["undecodable_videos"]) == (7, 6, 1)
    assert "skipped_videos" not in doc


def test_one_seed_has_no_sd_and_writes_null():
    assert seed_sd([3.0]) is None and seed_sd([1.0, 4.0]) == pytest.approx(3 / np.sqrt(2))
    doc = metrics_document({5: per_seed_metrics(40.0)}, n_captions=6, n_videos=6, undecodable_videos=0)
    assert doc["t2v"]["R@1"] == 40.0 and doc["std"]["t2v"]["R@1"] is None
    text = json.dumps(doc)
    assert "NaN" not in text and json.loads(text)["std"]["v2t"]["MdR"] is None and json.loads(text)["seeds"] == [5]


def test_headline_metrics_keep_the_same_few_keys_for_every_variant():
    doc = metrics_document({0: per_seed_metrics(10.0), 1: per_seed_metrics(20.0)}, n_captions=7, n_videos=6,
                           undecodable_videos=1)
    top = headline(doc)
    assert list(top) == ["t2v", "v2t", "t2v_R@1_sd", "v2t_R@1_sd", "seeds", "undecodable_videos"]
    assert top["t2v"] == doc["t2v"] and top["t2v_R@1_sd"] == pytest.approx(abs(10.0 - 20.0) / np.sqrt(2))
    assert (top["seeds"], top["undecodable_videos"]) == (2, 1)
    flat = [f"{k}.{m}" if isinstance(v, dict) else k for k, v in top.items() for m in (v if isinstance(v, dict) else [0])]
    assert len(flat) == 14   # the columns `dvc metrics show` prints for a variant


def test_save_scores_writes_the_matrix_and_its_archive(tmp_path):
    sim = np.array([[0.5, -np.inf, 0.25], [0.125, -np.inf, 1.0]])  # video 1 undecodable
    part = np.array([[1.0, -np.inf, 2.0], [3.0, -np.inf, 4.0]], dtype=np.float32)
    save_scores(tmp_path / "scores" / "tcd", 2, sim, np.array([0, 2]), ["a/0", "a/1", "b/2"], {"window": part})
    bare = np.load(tmp_path / "scores" / "tcd" / "sim_seed2.npy")
    assert bare.dtype == np.float32 and np.array_equal(bare, sim.astype(np.float32))
    with np.load(tmp_path / "scores" / "tcd" / "seed2.npz") as saved:
        assert sorted(saved.files) == ["caption_video", "part_window", "scored", "sim", "video_ids"]
        assert np.array_equal(saved["sim"], bare) and saved["caption_video"].tolist() == [0, 2]
        assert saved["video_ids"].tolist() == ["a/0", "a/1", "b/2"] and saved["scored"].tolist() == [True, False, True]
        assert np.array_equal(saved["part_window"], part)
    save_scores(tmp_path / "lexical", 0, np.zeros((1, 2)), np.array([1]), ["x", "y"])  # no parts: a floor's scores
    with np.load(tmp_path / "lexical" / "seed0.npz") as saved:
        assert sorted(saved.files) == ["caption_video", "scored", "sim", "video_ids"] and saved["scored"].all()
