"""The paired bootstrap over test captions (tcd.bootstrap): hits from score matrices, intervals computed by hand."""

import numpy as np
import pytest

from tcd.bootstrap import Hits, bootstrap_mean, paired_bootstrap, save_ranks, saved_hits, variant_hits


def hits(t2v, v2t=None, fingerprint=""):
    """Hits on n captions (one per video, as in SynthTextVR and TextVR's test split); rows: seeds."""
    t2v = np.atleast_2d(np.asarray(t2v, dtype=bool))
    v2t = t2v if v2t is None else np.atleast_2d(np.asarray(v2t, dtype=bool))
    ids = np.array([f"v{i}" for i in range(t2v.shape[1])])
    return Hits(t2v, v2t, ids, ids, fingerprint)


def first(k, n=20):
    return np.arange(n) < k


def test_hits_are_rank_zero_with_ties_averaged_and_v2t_takes_a_videos_best_caption(tmp_path):
    # 3 captions x 2 videos; captions 0 and 1 belong to video 0, caption 2 to video 1
    sim = np.array([[0.9, 0.1],     # caption 0: its video first -> hit
                    [0.5, 0.5],     # caption 1: tied at the top -> rank 0.5, a miss (TextVR's R@1)
                    [0.8, 0.2]])    # caption 2: video 1 second -> miss
    scores = tmp_path / "scores" / "m"
    scores.mkdir(parents=True)
    np.savez(scores / "seed0.npz", sim=sim, caption_video=np.array([0, 0, 1]), video_ids=np.array(["a", "b"]))
    np.savez(scores / "seed1.npz", sim=sim[:, ::-1], caption_video=np.array([0, 0, 1]), video_ids=np.array(["a", "b"]))
    got = variant_hits(tmp_path, "m", [0, 1])
    assert got.t2v.tolist() == [[True, False, False], [False, False, True]]
    # video a ranks all three captions by its column and keeps its best own caption; seed 0: column a is
    # (0.9, 0.5, 0.8), caption 0 first -> hit; column b (0.1, 0.5, 0.2): caption 2 second -> miss.
    # Seed 1 swaps the columns: a (0.1, 0.5, 0.2): its caption 1 first -> hit; b (0.9, 0.5, 0.8): miss
    assert got.v2t.tolist() == [[True, False], [True, False]]
    assert got.captions.tolist() == ["a", "a", "b"] and got.videos.tolist() == ["a", "b"]
    assert got.r1("t2v").tolist() == pytest.approx([100 / 3, 100 / 3])
    with pytest.raises(FileNotFoundError, match="seed2.npz missing"):
        variant_hits(tmp_path, "m", [0, 2])


def test_constant_differences_give_a_point_interval():
    iv = bootstrap_mean(np.full(7, 5.0))
    assert (iv.difference, iv.low, iv.high) == (5.0, 5.0, 5.0) and iv.excludes_zero
    assert not bootstrap_mean(np.zeros(7)).excludes_zero      # identical sides: [0, 0] includes 0


@pytest.mark.parametrize("extra, low_is_zero", [
    # A hits k captions more than B, out of 20. A resample misses all k with probability (1 - k/20)^20:
    (2, True),    # 0.9^20 = 0.12 > 0.025: the 2.5th percentile is 0 -> the interval includes 0
    (4, False),   # 0.8^20 = 0.012 < 0.025: the 2.5th percentile is one caption, 5 points
])
def test_interval_of_a_difference_carried_by_a_few_captions(extra, low_is_zero):
    iv = paired_bootstrap(hits(first(extra)), hits(np.zeros(20)), "t2v")
    assert iv.difference == pytest.approx(5.0 * extra)
    assert (iv.low == 0.0) == low_is_zero and iv.excludes_zero != low_is_zero
    if not low_is_zero:
        assert iv.low == pytest.approx(5.0)   # P(X <= 0) = 0.012, P(X <= 1) = 0.069 for X ~ Binomial(20, 0.2)


def test_pairing_matters():
    """B hits half the captions; A hits the same ones and 4 more. Paired: only the 4 differ (interval [5, ...]).
    Resampling each side on its own draws (unpaired) sees two noisy rates, 70 % and 50 %, and includes 0."""
    b = first(10)
    a = b | (np.arange(20) >= 16)
    paired = paired_bootstrap(hits(a), hits(b), "t2v")
    assert paired.difference == pytest.approx(20.0) and paired.low == pytest.approx(5.0)
    rng = np.random.default_rng(0)
    unpaired = [100 * (a[rng.integers(0, 20, 20)].mean() - b[rng.integers(0, 20, 20)].mean()) for _ in range(10_000)]
    low, high = np.percentile(unpaired, [2.5, 97.5])
    assert low < 0 < high     # sd of the difference √(.7·.3/20 + .5·.5/20) = 15 points: 20 ± 30


def test_seeds_are_averaged_per_caption_before_resampling():
    # A hits caption 0 in one seed of three: 1/3 of a caption, 100/3/20 = 1.67 points
    a = np.zeros((3, 20), dtype=bool)
    a[0, 0] = True
    iv = paired_bootstrap(hits(a), hits(np.zeros((3, 20))), "t2v")
    assert iv.difference == pytest.approx(100 / 3 / 20) and iv.low == 0.0


def test_direction_chooses_the_unit_and_galleries_must_match():
    a = hits(first(10), v2t=np.zeros(20))
    assert paired_bootstrap(a, hits(np.zeros(20)), "v2t").difference == 0.0
    assert paired_bootstrap(a, hits(np.zeros(20)), "t2v").difference == 50.0
    with pytest.raises(ValueError, match="different test galleries"):
        paired_bootstrap(a, hits(np.zeros(21)), "t2v")


def test_saved_ranks_round_trip_with_the_captions_fingerprint(tmp_path):
    sim = np.eye(3)[[0, 2, 1]]    # caption 0 right, captions 1 and 2 swapped
    for seed in (0, 1):
        save_ranks(tmp_path / "row" / f"seed{seed}" / "ranks.npz", sim, np.arange(3), ["a", "b", "c"], "f00d")
    got = saved_hits([tmp_path / "row" / f"seed{s}" / "ranks.npz" for s in (0, 1)])
    assert got.t2v.tolist() == [[True, False, False]] * 2 and got.v2t.tolist() == [[True, False, False]] * 2
    assert got.fingerprint == "f00d" and got.videos.tolist() == ["a", "b", "c"]
    save_ranks(tmp_path / "row" / "seed1" / "ranks.npz", sim, np.arange(3), ["a", "b", "c"], "beef")
    with pytest.raises(ValueError, match="different captions"):
        saved_hits([tmp_path / "row" / f"seed{s}" / "ranks.npz" for s in (0, 1)])
    with pytest.raises(FileNotFoundError, match="re-run the ablation stage"):
        saved_hits([tmp_path / "row" / "seed7" / "ranks.npz"])


def test_many_captions_resample_in_chunks_and_fast():
    import time

    values = np.random.default_rng(1).integers(-1, 2, 2727) * 100.0
    start = time.perf_counter()
    iv = bootstrap_mean(values)
    assert time.perf_counter() - start < 5.0
    se = values.std() / np.sqrt(len(values))        # normal approximation of the same interval
    assert iv.low == pytest.approx(values.mean() - 1.96 * se, abs=0.3) and iv.high == pytest.approx(values.mean() + 1.96 * se, abs=0.3)
