"""The OCR string-match floor: BM25 numbers computed by hand, stopwords, fuzzy misreads, rank fusion, the validation
carve-out."""

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from tcd.config import load_params
from tcd.corpus.textvr import OcrTrack, VideoEntry, write_annotations, write_ocr_file
from tcd.data import domain_quotas, split_entries, validation_videos
from tcd.eval import read_evaluation, retrieval_metrics
from tcd.lexical import (FUSION_GRID, STOPWORDS, bm25_scores, choose_fusion_weight, evaluate_lexical, fuse,
                         fuse_chosen_on_validation, fusion_curve, lexical_similarity, video_documents)


def track(text, track_id="0"):
    return OcrTrack(track_id=track_id, text=text, score=0.9, boxes={0: (0, 0, 10, 0, 10, 5, 0, 5)})


# bm25s's default variant is Lucene's: idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
# term part tf / (tf + k1 (1 - b + b L / avgL)), k1 = 1.5, b = 0.75.
IDF_DF1 = math.log(1 + (3 - 1 + 0.5) / (1 + 0.5))  # a word in one of three videos: ln(8/3)
IDF_DF2 = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))  # in two of three: ln(1.6)
NORM_L3 = 1.5 * (1 - 0.75 + 0.75 * 3 / 2)  # a 3-word video when the average is (3 + 3 + 0) / 3 = 2: 2.0625


def three_videos():
    return video_documents([[track("TESCO express"), track("Tesco")],  # two instances of TESCO: tf 2
                            [track("GOLD 2020"), track("EXPRESS")],
                            []])  # no scene text


def test_documents_count_each_word_once_per_track():
    assert three_videos() == [["EXPRESS", "TESCO", "TESCO"], ["2020", "GOLD", "EXPRESS"], []]
    assert video_documents([[track("GO GO go!")]]) == [["GO"]]  # one instance, however often it repeats the word


def test_bm25_matches_the_hand_computed_lucene_scores():
    sim = bm25_scores(["The store TESCO express.", "Express gold medal 2020", "a silent street"], three_videos())
    tesco_express_v0 = IDF_DF1 * 2 / (2 + NORM_L3) + IDF_DF2 * 1 / (1 + NORM_L3)  # 0.4829 + 0.1535
    express_v1 = IDF_DF2 / (1 + NORM_L3)
    expected = np.array([[tesco_express_v0, express_v1, 0.0],
                         [express_v1, express_v1 + 2 * IDF_DF1 / (1 + NORM_L3), 0.0],
                         [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(sim, expected, rtol=1e-12)
    assert sim[0, 0] == pytest.approx(0.636340, abs=1e-6) and sim[1, 1] == pytest.approx(0.794012, abs=1e-6)
    # captions 0 and 1 find their video first; caption 2 shares no word: its row ties, rank (3 - 1) / 2
    assert retrieval_metrics(sim)["t2v"]["R@1"] == pytest.approx(200 / 3)
    assert retrieval_metrics(sim)["t2v"]["MnR"] == pytest.approx(1 + 1 / 3)


def test_query_words_count_once_and_textless_corpus_scores_zero():
    docs = three_videos()
    np.testing.assert_array_equal(bm25_scores(["TESCO TESCO tesco"], docs), bm25_scores(["TESCO"], docs))
    np.testing.assert_array_equal(bm25_scores(["TESCO"], [[], []]), [[0.0, 0.0]])


def test_fuzzy_catches_a_one_character_misread_only_when_enabled():
    docs = video_documents([[track("TESC0 EXPRESS")], [track("TEST")], []])
    np.testing.assert_array_equal(bm25_scores(["TESCO"], docs), [[0.0, 0.0, 0.0]])
    # TESC0 vs TESCO: one substitution in five letters, similarity 0.8 >= 0.8, read as TESCO; TEST: distance 2,
    # similarity 0.6, no match. df 1 of 3: ln(8/3); average length (2 + 1 + 0) / 3 = 1, so the 2-word video has
    # norm 1.5 (0.25 + 0.75 x 2) = 2.625.
    fuzzy = bm25_scores(["TESCO"], docs, fuzzy=0.8)
    np.testing.assert_allclose(fuzzy, [[math.log(8 / 3) / (1 + 2.625), 0.0, 0.0]], rtol=1e-12)
    assert fuzzy[0, 0] == pytest.approx(0.270573, abs=1e-6)
    np.testing.assert_array_equal(bm25_scores(["TESCO"], docs, fuzzy=0.81), [[0.0, 0.0, 0.0]])


def test_fuzzy_counts_a_misread_as_the_word():
    # Video 0 shows TESCO and a misread TESC0 (2 words), video 1 TESCO alone; average length 1.5, df of TESCO 2 of 2.
    docs = video_documents([[track("TESCO"), track("TESC0")], [track("TESCO")]])
    idf = math.log(1 + 0.5 / 2.5)
    norm = {2: 1.5 * (0.25 + 0.75 * 2 / 1.5), 1: 1.5 * (0.25 + 0.75 * 1 / 1.5)}  # 1.875 and 1.125
    # exact: tf 1 in both, the shorter video wins; fuzzy: TESC0 is TESCO, tf 2 in video 0, which now wins
    np.testing.assert_allclose(bm25_scores(["TESCO"], docs), [[idf / (1 + norm[2]), idf / (1 + norm[1])]], rtol=1e-12)
    np.testing.assert_allclose(bm25_scores(["TESCO"], docs, fuzzy=0.8), [[idf * 2 / (2 + norm[2]), idf / (1 + norm[1])]],
                               rtol=1e-12)


def test_stopwords_are_bm25s_english_list_upper_cased():
    assert len(STOPWORDS) == 33 and {"THE", "IN", "TO", "OF", "A", "THERE", "THEIR"} <= STOPWORDS
    assert not {"LEFT", "STOP", "EXIT", "OPEN"} & STOPWORDS  # words signs show are not stopwords


def test_a_caption_sharing_only_stopwords_scores_zero():
    docs = video_documents([[track("THE END")], [track("IN"), track("TO the")], [track("A B C")]])
    np.testing.assert_array_equal(bm25_scores(["walk in to the store", "a man and a dog"], docs), np.zeros((2, 3)))


def test_bm25_with_stopwords_removed_matches_lucene_by_hand():
    # Without stopwords: video 0 is [TESCO] (L 1), video 1 [END, GOLD] (L 2), video 2 [THE]: [] (L 0); avgL = 1.
    # "the end of the TESCO" asks END and TESCO, each in one of three videos: idf ln(1 + 2.5 / 1.5) = ln(8/3).
    # Norms k1 (1 - b + b L / avgL): 1.5 for L 1, 1.5 (0.25 + 1.5) = 2.625 for L 2. THE would have matched all three.
    docs = video_documents([[track("THE TESCO"), track("OF")], [track("THE END"), track("GOLD")], [track("The")]])
    sim = bm25_scores(["the end of the TESCO"], docs)
    np.testing.assert_allclose(sim, [[IDF_DF1 / (1 + 1.5), IDF_DF1 / (1 + 2.625), 0.0]], rtol=1e-12)
    assert sim[0, 0] == pytest.approx(0.392332, abs=1e-6) and sim[0, 1] == pytest.approx(0.270573, abs=1e-6)


def test_fuzzy_matching_never_involves_a_stopword():
    # THEIR/THEIRS and THERE/THERM are one edit apart in five-six letters (similarity 0.83 and 0.8 >= 0.8), but
    # THEIR and THERE are stopwords: dropped on either side before misreads are looked for.
    docs = video_documents([[track("THEIR")], [track("THERM")], [track("THEMS")]])
    np.testing.assert_array_equal(bm25_scores(["THEIRS", "THERE"], docs, fuzzy=0.8), np.zeros((2, 3)))
    assert bm25_scores(["THEME"], docs, fuzzy=0.8)[0, 2] > 0  # THEMS/THEME: the same edit, not a stopword: matched


def test_fuse_is_weighted_reciprocal_rank_fusion_by_hand():
    # Model ranks videos 0, 1, 2 (1-based ranks 1, 2, 3); video 3 is undecodable (-inf).
    # BM25 ranks video 3 first, ties videos 1 and 2 (ranks 2 and 3 averaged: 2.5), does not retrieve video 0 (score 0).
    model = np.array([[3.0, 2.0, 1.0, -np.inf]])
    lexical = np.array([[0.0, 2.0, 2.0, 5.0]])
    np.testing.assert_allclose(fuse(model, lexical, 0.5)[0, :3], [0.5 / 61, 0.5 / 62 + 0.5 / 62.5, 0.5 / 63 + 0.5 / 62.5])
    np.testing.assert_allclose(fuse(model, lexical, 0.0)[0, :3], [1 / 61, 1 / 62, 1 / 63])
    at_one = fuse(model, lexical, 1.0)
    np.testing.assert_array_equal(at_one[0, :3], [0.0, 1 / 62.5, 1 / 62.5])  # BM25 alone, its tie kept a tie
    for weight in (0.0, 0.5, 1.0):  # undecodable stays below every video, BM25's best match included
        assert np.isneginf(fuse(model, lexical, weight)[0, 3])
    with pytest.raises(ValueError, match="weight"):
        fuse(model, lexical, 1.5)


def test_fuse_treats_tied_videos_alike_whatever_their_column_order():
    rng = np.random.default_rng(0)
    model = rng.integers(0, 4, (5, 9)).astype(float)  # many ties on both sides
    lexical = rng.integers(0, 3, (5, 9)).astype(float)
    perm = rng.permutation(9)
    np.testing.assert_allclose(fuse(model[:, perm], lexical[:, perm], 0.3), fuse(model, lexical, 0.3)[:, perm], rtol=1e-15)


def test_fusion_weight_chosen_by_hand():
    # The model ranks (0, 1, 2) for every caption: right for caption 0 only. BM25: caption 0 matches nothing,
    # caption 1 hits video 1, caption 2 video 2. Caption 1 beats video 0 when (1 - w)/62 + w/61 > (1 - w)/61,
    # i.e. w / (1 - w) > 1/62: w > 1/63 = 0.0159; caption 2 when w / (1 - w) > 2/63: w > 2/65 = 0.0308. At w = 1
    # caption 0's row is all zeros: a tie, no R@1. R@1 on the grid (0, 0.02, 0.04, 1): 1/3, 2/3, 3/3, 2/3.
    model = np.tile([2.0, 1.0, 0.0], (3, 1))
    lexical = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    curve = fusion_curve(model, lexical, [0, 1, 2], grid=[0.0, 0.02, 0.04, 1.0])
    np.testing.assert_allclose(curve["R@1"], [100 / 3, 200 / 3, 100, 200 / 3])
    assert choose_fusion_weight(model, lexical, [0, 1, 2], grid=[0.0, 0.02, 0.04, 1.0]) == 0.04
    assert fusion_curve(model, lexical, [0, 1, 2]).weight.tolist() == list(FUSION_GRID)
    assert choose_fusion_weight(model, lexical, [0, 1, 2]) == 0.1  # the smallest of the grid's tied best


def gallery(n_videos):
    """Two captions over ``n_videos`` videos; the model scores video j 1 - j/100 for both (video 0 first).
    Caption 0's video is 0, which BM25 misses, hitting the model's 24th video instead; caption 1's is video 1,
    the model's second, which BM25 hits. Videos past the 24th are more distractors that both matchers rank low."""
    model = np.tile(1.0 - np.arange(n_videos) / 100, (2, 1))
    lexical = np.zeros((2, n_videos))
    lexical[0, 23] = lexical[1, 1] = 1.0
    return model, lexical, [0, 1]


def test_rank_fusion_weight_transfers_across_gallery_sizes_where_z_scores_do_not():
    def z(sim):  # the former fusion's per-caption standardisation over the gallery (population sd)
        return (sim - sim.mean(axis=1, keepdims=True)) / sim.std(axis=1, keepdims=True)

    def best_z_weight(model, lexical, targets):
        r1 = [retrieval_metrics((1 - w) * z(model) + w * z(lexical), targets)["t2v"]["R@1"] for w in FUSION_GRID]
        return FUSION_GRID[int(np.argmax(r1))], r1

    small, large = gallery(24), gallery(96)
    # z-scores: one BM25 hit is sqrt(N - 1) above the rest, while the model's gaps shrink as N grows: the weight
    # that gets both captions right on 24 videos (0.1) loses caption 0 on 96, where only 0 is best.
    (w24, r24), (w96, r96) = best_z_weight(*small), best_z_weight(*large)
    assert (w24, r24[1]) == (0.1, 100.0) and (w96, r96[1]) == (0.0, 50.0)
    # rank fusion: caption 1 is right once w / (1 - w) > 1/62 (w > 0.016); caption 0 while w / (1 - w) <
    # 1 - 61/84 (the 24th video's 1/84; w < 0.215). Extra videos rank below both: the same curve at 24 and 96.
    curves = [fusion_curve(*g) for g in (small, large)]
    pd.testing.assert_frame_equal(curves[0][["weight", "R@1"]], curves[1][["weight", "R@1"]])
    assert curves[0]["R@1"].tolist() == [50.0, 100.0, 100.0] + [50.0] * 8
    assert choose_fusion_weight(*small) == choose_fusion_weight(*large) == 0.1


def test_fusion_weight_is_chosen_on_validation_never_on_test():
    # Validation: BM25 points each caption at the model's second video, the model is right: only weight 0 wins.
    # Test: the model ranks the true video second and BM25 hits it: every weight above 0 wins, 0 loses.
    val_model, val_lexical = np.tile([2.0, 1.0, 0.0], (2, 1)), np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    test_model, test_lexical = np.tile([2.0, 1.0, 0.0], (2, 1)), np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 5.0]])
    test_model[1] = [2.0, 0.0, 1.0]
    weight, fused, curve = fuse_chosen_on_validation((val_model, val_lexical, [0, 0]), (test_model, test_lexical, [1, 2]))
    assert weight == 0.0
    np.testing.assert_array_equal(fused, fuse(test_model, test_lexical, 0.0))
    test_curve = curve[curve.split == "test"]
    assert test_curve.loc[test_curve["R@1"].idxmax(), "weight"] == 0.1  # what choosing on test would have taken
    assert curve[curve.chosen].weight.tolist() == [0.0, 0.0] and curve[curve.chosen].split.tolist() == ["val", "test"]
    assert curve[curve.chosen]["R@1"].tolist() == [100.0, 0.0]


def test_fusion_tie_on_r1_is_broken_by_r5():
    # 7 videos, one caption, true video 0. Model ranks it 6th of 7 (R@5 miss); lexical ranks it 2nd.
    # Neither hits R@1 at weight 0 or 1; weight 1 wins on R@5 though it is the larger weight.
    model = np.array([[1.0, 7.0, 6.0, 5.0, 4.0, 3.0, 0.0]])
    lexical = np.array([[5.0, 6.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    assert choose_fusion_weight(model, lexical, [0], grid=[0.0, 1.0]) == 1.0


def entry(video_id, domain):
    return VideoEntry(video_id=f"{domain}/{video_id}", path=f"{domain}/{video_id}.mp4", domain=domain, split="train",
                      source="t", ocr_path=f"{domain}/{video_id}.json", captions=("c",), desc_ids=(0,), duration=1.0)


def test_validation_carve_out_is_deterministic_disjoint_and_stratified():
    entries = [entry(f"a{i}", "A") for i in range(8)] + [entry(f"b{i}", "B") for i in range(4)]
    train, val = validation_videos(entries, 0.25, seed=3)
    assert (train, val) == validation_videos(entries, 0.25, seed=3)
    assert not set(train) & set(val) and sorted(train + val) == sorted(e.video_id for e in entries)
    assert sum(v.startswith("A/") for v in val) == 2 and sum(v.startswith("B/") for v in val) == 1  # 25% of each
    order = [e.video_id for e in entries]
    assert val == sorted(val, key=order.index) and train == sorted(train, key=order.index)  # annotation order
    assert {tuple(validation_videos(entries, 0.25, seed=s)[1]) for s in range(5)} != {tuple(val)}  # the seed matters
    with pytest.raises(ValueError):
        validation_videos(entries, 1.0, seed=0)


def test_validation_keeps_the_domains_proportions():
    # 12 videos: A 9, B 1, C 2; half held out = 6. In proportion: A 4.5, B 0.5, C 1.0 -> 4 + 1 + 1 once B gets its
    # one (largest remainders give A the tie: 5, 0, 1). Equal shares round-robin (A B C A C A) would give 3, 1, 2.
    entries = [entry(f"a{i}", "A") for i in range(9)] + [entry("b0", "B")] + [entry(f"c{i}", "C") for i in range(2)]
    _, val = validation_videos(entries, 0.5, seed=0)
    assert [sum(v.startswith(f"{d}/") for v in val) for d in "ABC"] == [4, 1, 1]
    assert domain_quotas([9, 1, 2], 6) == [4, 1, 1]
    assert domain_quotas([1, 1, 1], 2) == [1, 1, 0]   # too few to give every domain one
    assert domain_quotas([110, 16, 16, 17, 16, 27, 21, 17], 24) == [11, 2, 1, 2, 1, 3, 2, 2]


def test_study_splits_hold_the_validation_videos_out_of_training(tmp_path):
    entries = [entry(f"a{i}", "A") for i in range(8)] + [entry(f"b{i}", "B") for i in range(4)]
    write_annotations(tmp_path / "data" / "TextVR_train.json", entries)
    write_annotations(tmp_path / "data" / "TextVR_test.json", [entry("t0", "A")])
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"seed": 3, "paths": {"corpus": str(tmp_path / "data")},
                                                          "train": {"val_fraction": 0.25}}))
    params = load_params(tmp_path / "params.yaml")
    train, val = ([e.video_id for e in split_entries(params, s)] for s in ("train", "val"))
    assert (train, val) == validation_videos(entries, 0.25, seed=3)  # drawn with the study's seed
    assert [e.video_id for e in split_entries(params, "test")] == ["A/t0"]
    everything = load_params(tmp_path / "params.yaml", {"train.val_fraction": 0.0})
    assert len(split_entries(everything, "train")) == 12
    with pytest.raises(ValueError, match="val_fraction is 0"):
        split_entries(everything, "val")


@pytest.fixture
def tiny_corpus(tmp_path):
    """Three test videos, no video files (string matching reads none); the third has no track file."""
    root = tmp_path / "data"
    entries = [VideoEntry(video_id=f"{d}/{n}", path=f"{d}/{n}.mp4", domain=d, split="test", source="t",
                          ocr_path=f"{d}/{n}.json", captions=(c,), desc_ids=(i,), duration=1.0)
               for i, (d, n, c) in enumerate([("Sports", "s0", "The store TESCO express."),
                                              ("Sports", "s1", "Express gold medal 2020"),
                                              ("Driving", "d0", "a silent street")])]
    write_annotations(root / "TextVR_test.json", entries)
    write_ocr_file(root / "Kwai_VideoOCR" / "Sports/s0.json", [track("TESCO express", "0"), track("Tesco", "1")])
    write_ocr_file(root / "Kwai_VideoOCR" / "Sports/s1.json", [track("GOLD 2020", "0"), track("EXPRESS", "1")])
    values = {"paths": {"corpus": str(root), "work": str(tmp_path / "artifacts"), "reports": str(tmp_path / "reports")},
              "ocr": {"source": "provided"}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(values))
    return load_params(tmp_path / "params.yaml")


def test_lexical_similarity_lines_up_with_the_gallery(tiny_corpus):
    sim, caption_video, video_ids, domains = lexical_similarity(tiny_corpus, "test")
    assert video_ids == ["Sports/s0", "Sports/s1", "Driving/d0"] and domains == ["Sports", "Sports", "Driving"]
    assert caption_video.tolist() == [0, 1, 2]
    np.testing.assert_allclose(sim, bm25_scores(["The store TESCO express.", "Express gold medal 2020",
                                                 "a silent street"], three_videos()), rtol=1e-12)


def test_evaluate_lexical_writes_a_models_outputs(tiny_corpus, tmp_path):
    shown = evaluate_lexical(tiny_corpus)
    doc = read_evaluation(tmp_path / "reports", "lexical")
    assert doc == shown["metrics"] and (doc["n_captions"], doc["n_videos"], doc["undecodable_videos"]) == (3, 3, 0)
    assert doc["seeds"] == [0] and doc["std"]["t2v"]["R@1"] is None
    assert doc["t2v"]["R@1"] == pytest.approx(200 / 3) and doc["t2v"]["MnR"] == pytest.approx(4 / 3)
    sim = np.load(tmp_path / "artifacts" / "scores" / "lexical" / "sim_seed0.npy")
    assert sim.dtype == np.float32 and sim.shape == (3, 3) and (sim[:, 2] == 0).all()
    with np.load(tmp_path / "artifacts" / "scores" / "lexical" / "seed0.npz") as saved:
        assert np.array_equal(saved["sim"], sim) and saved["scored"].all() and saved["caption_video"].tolist() == [0, 1, 2]
        assert saved["video_ids"].tolist() == ["Sports/s0", "Sports/s1", "Driving/d0"]
    per_domain = pd.read_csv(tmp_path / "reports" / "tables" / "per_domain" / "lexical.csv")
    assert per_domain.group.tolist() == ["Driving", "Sports"] and per_domain["R@1"].tolist() == [0.0, 100.0]


def test_validation_holds_out_whole_groups():
    # domain A: a group of three (a0-a2) and five single videos; half of A held out = 4 videos. The group comes
    # in whole or not at all, never split between training and validation, and the quota is still met exactly.
    entries = [entry(f"a{i}", "A") for i in range(8)]
    groups = {f"A/a{i}": "g" for i in range(3)}
    outcomes = set()
    for seed in range(12):
        train, val = validation_videos(entries, 0.5, seed=seed, groups=groups)
        in_val = sum(f"A/a{i}" in val for i in range(3))
        assert in_val in (0, 3) and len(val) == 4 and not set(train) & set(val)
        outcomes.add(in_val)
    assert outcomes == {0, 3}   # the seed decides whether the group is held out
    # without groups (or every video its own group) the split is the one before groups existed
    assert validation_videos(entries, 0.5, seed=1) == validation_videos(entries, 0.5, seed=1, groups={})


def test_video_groups_come_from_synthtextvr_card_or_the_source_video(tmp_path):
    import json

    from tcd.config import CARD_NAME
    from tcd.data import video_groups

    clips = [VideoEntry(video_id=f"D/{stem}", path=f"D/{stem}.mp4", domain="D", split="train", source="t",
                        ocr_path=f"D/{stem}.json", captions=("c",), desc_ids=(0,), duration=1.0)
             for stem in ("PRKCz7-QyR8_00200_00210", "PRKCz7-QyR8_00300_00310", "other_00000_00010")]
    groups = video_groups(tmp_path, "train", clips)   # no card: TextVR's rule, clips of one source video together
    assert groups["D/PRKCz7-QyR8_00200_00210"] == groups["D/PRKCz7-QyR8_00300_00310"] != groups["D/other_00000_00010"]
    card = {"videos": {"train": [{"video_id": "D/other_00000_00010", "group": "train-scene-0"},
                                 {"video_id": "D/PRKCz7-QyR8_00200_00210", "group": ""}]}}
    (tmp_path / CARD_NAME).write_text(json.dumps(card))
    groups = video_groups(tmp_path, "train", clips)
    assert groups["D/other_00000_00010"] == "synth:train-scene-0"           # the card's group
    assert groups["D/PRKCz7-QyR8_00200_00210"] == groups["D/PRKCz7-QyR8_00300_00310"]   # no group: the source video


def test_a_domain_of_groups_larger_than_its_quota_still_gives_one_group():
    entries = [entry(f"a{i}", "A") for i in range(4)] + [entry(f"b{i}", "B") for i in range(6)]
    groups = {"A/a0": "x", "A/a1": "x", "A/a2": "y", "A/a3": "y"} | {f"B/b{i}": f"b{i}" for i in range(6)}
    _, val = validation_videos(entries, 0.2, seed=0, groups=groups)   # quotas: A 1, B 1; A's groups are pairs
    assert sum(v.startswith("A/") for v in val) == 2 and sum(v.startswith("B/") for v in val) == 1
    assert {"A/a0", "A/a1"} <= set(val) or {"A/a2", "A/a3"} <= set(val)   # a whole pair
