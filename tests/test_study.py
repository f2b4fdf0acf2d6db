"""The study's tables: ablation grids from params, mean ± sd, each ablation run's saved ranks, the caption kinds."""

import numpy as np
import pandas as pd
import pytest
import yaml

from tcd.config import ParamsError, load_params
from tcd.eval import METRIC_KEYS
from tcd.bootstrap import save_ranks
from tcd.claims import main_comparison
from tcd.study import ablation_hits, ablation_rows, ablation_run_dir, captions_fingerprint, main_comparison_run, mean_sd


def metrics(r1, sd=0.0, seeds=(0, 1, 2)):
    block = {k: (r1 if k == "R@1" else 50.0) for k in METRIC_KEYS}
    return {"t2v": dict(block), "v2t": dict(block), "std": {"t2v": {k: sd for k in METRIC_KEYS}, "v2t": {k: sd for k in METRIC_KEYS}},
            "seeds": list(seeds)}


def test_mean_sd_over_seeds_keeps_row_order():
    runs = pd.DataFrame([{"row": r, "seed": s, **{f"{d}_{k}": v + s for d in ("t2v", "v2t") for k in METRIC_KEYS}}
                         for r, v in (("b", 10.0), ("a", 20.0)) for s in (0, 2)])
    table = mean_sd(runs, "row")
    assert table.row.tolist() == ["b", "a"]
    # seeds 0 and 2 -> 10, 12: mean 11, sample sd sqrt((1 + 1) / (2 - 1)) = sqrt(2) (the population sd would be 1)
    assert table.loc[0, "t2v_R@1"] == 11.0 and table.loc[0, "t2v_R@1_sd"] == pytest.approx(np.sqrt(2)) and table.loc[0, "seeds"] == 2
    one = mean_sd(runs[runs.seed == 0], "row")
    assert one.loc[0, "t2v_R@1"] == 10.0 and np.isnan(one.loc[0, "t2v_R@1_sd"]) and one.loc[0, "seeds"] == 1


def test_main_comparison_puts_paper_numbers_beside_ours():
    table = main_comparison({"tcd": metrics(40.0, 1.0), "clip4clip": metrics(10.0)}).set_index("variant")
    assert table.loc["tcd", "paper_v2t_R@1"] == 51.9 and table.loc["tcd", "paper_t2v_R@1"] == 60.4
    assert np.isnan(table.loc["clip4clip", "paper_t2v_R@1"])  # not printed in the appendix
    assert table.loc["tcd", "t2v_R@1_sd"] == 1.0


def test_ablation_runs_ranks_are_read_back_per_row_over_its_seeds(tmp_path):
    runs = pd.DataFrame({"row": ["xi=0.2", "xi=0.2", "xi=1.0", "xi=1.0"], "seed": [0, 1, 0, 1]})
    for row, seed in zip(runs.row, runs.seed):
        sim = np.eye(3) if (row, seed) != ("xi=0.2", 1) else np.eye(3)[[1, 0, 2]]   # one run swaps captions 0 and 1
        save_ranks(ablation_run_dir(tmp_path, "window", row, seed) / "ranks.npz", sim, np.arange(3), ["a", "b", "c"],
                   fingerprint=row)
    assert ablation_run_dir(tmp_path, "window", "xi=0.2", 1) == tmp_path / "ablations" / "window" / "xi=0.2" / "seed1"
    rows = ablation_hits(tmp_path, "window", runs)
    assert list(rows) == ["xi=0.2", "xi=1.0"] and rows["xi=0.2"].r1("t2v").tolist() == pytest.approx([100.0, 100 / 3])
    assert rows["xi=1.0"].fingerprint == "xi=1.0" and rows["xi=1.0"].t2v.shape == (2, 3)
    with pytest.raises(FileNotFoundError, match="seed2/ranks.npz missing: .*re-run the ablation stage"):
        ablation_hits(tmp_path, "window", pd.DataFrame({"row": ["xi=1.0"], "seed": [2]}))


def test_captions_fingerprint_sees_the_windows_not_the_setting():
    def doc(xi, windows):
        return {"xi": xi, "split": "test", "videos": {"v0": {"windows": windows, "mask": [True, True]}}}

    same = captions_fingerprint([doc(0.6, ["OPEN", "SALE"])]), captions_fingerprint([doc(1.0, ["OPEN", "SALE"])])
    assert same[0] == same[1]                                          # ξ cut no OCR sample: the same inputs
    assert captions_fingerprint([doc(0.2, ["OPEN", ""])]) != same[0]   # ξ dropped a word


def test_ablation_rows_apply_overrides_and_validate(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"ablations": {"variant": "tcd", "grids": {
        "modules": {"none": {"model.ctcd": False, "model.hsc": False}, "all": {}}}}}))
    rows = ablation_rows(path, "modules")
    assert rows["none"].model.switches == {"text_condition": True, "hsc": False, "co_attention": True, "ctcd": False}
    assert rows["all"].model.variant == "tcd"
    with pytest.raises(ParamsError, match="no ablation grid 'nope'.*the grids are modules"):
        ablation_rows(path, "nope")
    # a broken row fails when the params load, before any grid runs
    path.write_text(yaml.safe_dump({"ablations": {"variant": "tcd", "grids": {"broken": {"typo": {"model.tua": 1.0}}}}}))
    with pytest.raises(ParamsError, match=r"model: unknown key\(s\) \['tua'\].*\(in ablations.grids.broken.typo\)"):
        load_params(path)


def test_rows_equal_to_the_main_run_reuse_its_checkpoint(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({
        "paths": {"work": str(tmp_path / "artifacts")},
        "train": {"variants": ["clip4clip", "tcd"], "seeds": [0, 1]}, "lexical": {"fusion": ["tcd"]},
        "ablations": {"variant": "tcd", "grids": {"g": {
            "all": {}, "easyocr": {"ocr.source": "easyocr"}, "xi=0.4": {"windows.xi": 0.4},
            "tau=5": {"model.tau": 5.0}, "epochs": {"train.epochs": 3}}}}}))
    rows = ablation_rows(path, "g")
    with pytest.raises(FileNotFoundError, match="dvc repro train@tcd"):
        main_comparison_run(path, rows["all"], 0)
    for seed in (0, 1):
        (tmp_path / "artifacts" / "models" / "tcd" / f"seed{seed}").mkdir(parents=True)
        (tmp_path / "artifacts" / "models" / "tcd" / f"seed{seed}" / "model.pt").touch()
    assert main_comparison_run(path, rows["all"], 1) == tmp_path / "artifacts" / "models" / "tcd" / "seed1"
    # overriding a knob with its own value changes nothing: τ = 5.0 is the model's default
    assert main_comparison_run(path, rows["easyocr"], 0) is not None and main_comparison_run(path, rows["tau=5"], 0) is not None
    assert main_comparison_run(path, rows["xi=0.4"], 0) is None
    assert main_comparison_run(path, rows["epochs"], 0) is None
    assert main_comparison_run(path, rows["all"], 2) is None        # seed the train stage did not run


def test_caption_labels_by_hand():
    from tcd.study import caption_labels

    vocabulary = {"bakery", "royal"}
    assert caption_labels("The sign reads ROYAL BAKERY in a store.", vocabulary) == "common words only"
    assert caption_labels("The shop KORVANO BAKERY.", vocabulary) == "a rare word"
    assert caption_labels("A car with the plate ABC 123X drives by.", vocabulary) == "digits"
    assert caption_labels("Two red circles move to the left on the road.", vocabulary) == "no scene text"
    assert caption_labels("The shop Royal Bakery offers bread.", vocabulary) == "common words only"  # re-cased quote
    # made-up names written title-cased, as SynthTextVR's signs (and TextVR's annotators) often do: rare words
    vocabulary = {"honey", "harbor", "wins", "award", "road", "street", "sign", "says", "on", "the", "cook", "uses"}
    assert caption_labels("The street sign says Ligux on the road.", vocabulary) == "a rare word"
    assert caption_labels("The cook uses Gekus Honey while three black squares move upward.", vocabulary) == "a rare word"
    assert caption_labels("The news is about Peveser Harbor Wins Award in the news studio.", vocabulary) == "a rare word"
    assert caption_labels("The cook uses Harbor Honey.", vocabulary) == "common words only"
    assert caption_labels("I think I see a red car.", vocabulary) == "no scene text"      # "I" quotes nothing
    assert caption_labels("The word D E C is displayed.", vocabulary | {"d", "e", "c"}) == "common words only"
    assert caption_labels("The sign says Roads.", vocabulary) == "common words only"          # a plural of road


def test_caption_labels_with_the_studys_vocabulary():
    """The 10 SynthTextVR test captions that quote a title-cased made-up name, counted as common words before."""
    from tcd.corpus.textvr import wordpiece_vocabulary
    from tcd.study import caption_labels, scene_text_words

    vocabulary = wordpiece_vocabulary()
    for caption in ("The street sign says Ligux on the road.", "The cook uses Gekus Honey while three black squares "
                    "move upward.", "The news is about Peveser Harbor Wins Award in the news studio.",
                    "The store Bistro Riromal offers cheap clothes in a store.",
                    "The subtitle says Nulan left the Spring hotel., and the channel logo says Gzk News in the news studio."):
        assert caption_labels(caption, vocabulary) == "a rare word", caption
    assert scene_text_words("The cook uses Gekus Honey while three black squares move upward.") == ["Gekus", "Honey"]
    for caption in ("The street sign shows Bay Road on the road.", "The channel logo says Evening Tv on the TV show.",
                    "The poster reads New Festival while a orange diamond moves to the left."):
        assert caption_labels(caption, vocabulary) == "common words only", caption


def test_breakdown_ranks_each_caption_kind(tmp_path):
    from tcd.corpus.textvr import VideoEntry, write_annotations
    from tcd.study import breakdown

    caps = ["The shop KORVANO.", "Two red circles move left.", "The plate ABC 123X."]
    entries = [VideoEntry(video_id=f"D/v{i}", path=f"D/v{i}.mp4", domain="D", split="test", source="t",
                          ocr_path=f"D/v{i}.json", captions=(c,), desc_ids=(i,), duration=1.0) for i, c in enumerate(caps)]
    write_annotations(tmp_path / "data" / "TextVR_test.json", entries)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"paths": {"corpus": str(tmp_path / "data"),
                                                                     "work": str(tmp_path / "art")}}))
    scores = tmp_path / "art" / "scores" / "m"
    scores.mkdir(parents=True)
    np.save(scores / "sim_seed0.npy", np.eye(3, dtype=np.float32))                    # all three right
    np.save(scores / "sim_seed1.npy", np.eye(3, dtype=np.float32)[:, [1, 0, 2]])      # captions 0 and 1 wrong
    table = breakdown(load_params(tmp_path / "params.yaml"), ["m"]).set_index("kind")
    assert set(table.by) == {"caption"}  # no SYNTH_CARD.json: no group kinds
    assert table.loc["a rare word", "R@1"] == 50.0 and table.loc["no scene text", "R@1"] == 50.0
    assert table.loc["digits", "R@1"] == 100.0 and table.loc["digits", "captions"] == 1


def test_oracle_ladder_resolves_captions_as_it_sees_more_attributes(tmp_path):
    import json

    from tcd.config import CARD_NAME
    from tcd.corpus.textvr import VideoEntry, write_annotations
    from tcd.study import oracle_ladder

    caps = ["Two red circles move to the left in the kitchen.", "A red star moves to the left in the kitchen.",
            "The sign says KORVANO in the kitchen."]
    objects = [[{"count": 2, "colour": "red", "shape": "circle", "direction": "left"}],
               [{"count": 1, "colour": "red", "shape": "star", "direction": "left"}],
               [{"count": 1, "colour": "blue", "shape": "square", "direction": "up"}]]
    entries = [VideoEntry(video_id=f"Cooking/v{i}", path=f"Cooking/v{i}.mp4", domain="Cooking", split="test",
                          source="t", ocr_path=f"Cooking/v{i}.json", captions=(c,), desc_ids=(i,), duration=1.0)
               for i, c in enumerate(caps)]
    write_annotations(tmp_path / "data" / "TextVR_test.json", entries)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"paths": {"corpus": str(tmp_path / "data")}}))
    params = load_params(tmp_path / "params.yaml")
    assert oracle_ladder(params) is None   # no card: nothing records what the videos show
    card = {"videos": {"test": [{"video_id": e.video_id, "objects": o} for e, o in zip(entries, objects)]}}
    (tmp_path / "data" / CARD_NAME).write_text(json.dumps(card))
    table = oracle_ladder(params)
    # scene and colour: the two red videos tie for both visual captions (a tie at the top is a miss); with the
    # count each caption's own video alone scores highest. The quoted name is never matched: no rung sees text.
    assert table["no scene text"].tolist() == [0.0, 0.0, 100.0, 100.0, 100.0]
    assert table["a rare word"].tolist() == [0.0] * 5
    assert table["all"].round(2).tolist() == [0.0, 0.0, 66.67, 66.67, 66.67]


def test_ladder_summary_places_each_tower_between_the_rungs_it_passes_and_misses():
    from tcd.study import ladder_summary

    ladder = pd.DataFrame({"no scene text": [0.0, 8.6, 45.3]}, index=["scene", "scene + colour", "scene + colour + count"])
    kinds = pd.DataFrame({"by": ["caption", "caption", "group"], "kind": ["no scene text"] * 3,
                          "variant": ["zero_shot", "clip4clip", "zero_shot"], "R@1": [15.1, 50.0, 99.0]})
    text = ladder_summary(ladder, kinds)
    assert ("zero_shot 15.1: above the oracle seeing the scene + colour (8.6), below the one seeing the "
            "scene + colour + count (45.3)") in text
    assert "clip4clip 50.0: above the oracle seeing the scene + colour + count (45.3)." in text   # above the top rung
    ladder["no scene text"] += 20.0
    assert "zero_shot 15.1: below every rung, the oracle seeing the scene (20.0) included" in ladder_summary(ladder, kinds)
