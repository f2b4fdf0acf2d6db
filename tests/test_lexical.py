"""The OCR string-match floor: BM25 numbers computed by hand, fuzzy misreads, fusion, the validation carve-out."""

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from tcd.config import load_params
from tcd.corpus.textvr import OcrTrack, VideoEntry, write_annotations, write_ocr_file
from tcd.data import split_entries, validation_videos
from tcd.eval import read_evaluation, retrieval_metrics
from tcd.lexical import (bm25_scores, choose_fusion_weight, evaluate_lexical, fuse, fusion_curve, lexical_similarity,
                         video_documents, zscore_rows)


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


def test_zscore_rows_constant_row_is_zero_and_minus_inf_stays():
    z = zscore_rows(np.array([[2.0, 1.0, 0.0], [5.0, 5.0, 5.0], [3.0, -np.inf, 1.0]]))
    s = math.sqrt(1.5)  # (2, 1, 0): mean 1, population sd sqrt(2/3)
    np.testing.assert_allclose(z[0], [s, 0.0, -s])
    np.testing.assert_array_equal(z[1], [0.0, 0.0, 0.0])
    assert z[2, 0] == 1.0 and np.isneginf(z[2, 1]) and z[2, 2] == -1.0  # stats over the finite 3 and 1


def test_fuse_weight_ends_are_each_part_alone():
    model = np.array([[1.0, -np.inf, 0.0]])
    lexical = np.array([[0.0, 3.0, 0.0]])
    np.testing.assert_array_equal(fuse(model, lexical, 0.0), zscore_rows(model))
    np.testing.assert_array_equal(fuse(model, lexical, 1.0), zscore_rows(lexical))  # not NaN from 0 x -inf
    assert np.isneginf(fuse(model, lexical, 0.5)[0, 1])


def test_fusion_weight_chosen_by_hand():
    # The model ranks (2, 1, 0) for every caption: right for caption 0 only. z = (s, 0, -s), s = sqrt(1.5).
    # Lexical: caption 0 matches nothing (z 0), caption 1 hits video 1, caption 2 video 2: z (-r/2, r, -r/2), r = sqrt(2).
    # Caption 1 beats video 0 when w r > (1 - w) s - w r/2: w > s / (s + 1.5 r) = 0.366.
    # Caption 2 beats video 0 when -(1 - w) s + w r > (1 - w) s - w r/2: w > 2s / (2s + 1.5 r) = 0.536.
    # Caption 0 is lost at w = 1 (its fused row is all zeros). R@1: 1/3 up to 0.3, 2/3 at 0.4-0.5, 3/3 at 0.6-0.9.
    model = np.tile([2.0, 1.0, 0.0], (3, 1))
    lexical = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    curve = fusion_curve(model, lexical, [0, 1, 2])
    expected = [1, 1, 1, 1, 2, 2, 3, 3, 3, 3, 2]
    np.testing.assert_allclose(curve["R@1"], [100 * k / 3 for k in expected])
    assert choose_fusion_weight(model, lexical, [0, 1, 2]) == pytest.approx(0.6)  # smallest of the tied best
    assert choose_fusion_weight(model, lexical, [0, 1, 2], grid=[0.0, 0.5]) == 0.5


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
    per_domain = pd.read_csv(tmp_path / "reports" / "tables" / "per_domain" / "lexical.csv")
    assert per_domain.group.tolist() == ["Driving", "Sports"] and per_domain["R@1"].tolist() == [0.0, 100.0]
