"""The study's tables: ablation grids from params, mean ± sd, the paper-vs-ours claims and verdicts."""

import numpy as np
import pandas as pd
import pytest
import yaml

from tcd.config import ParamsError, load_params
from tcd.eval import METRIC_KEYS
from tcd.claims import claims_table, main_comparison, verdict
from tcd.study import ablation_rows, main_comparison_run, mean_sd


def metrics(r1, sd=0.0, seeds=(0, 1, 2)):
    block = {k: (r1 if k == "R@1" else 50.0) for k in METRIC_KEYS}
    return {"t2v": dict(block), "v2t": dict(block), "std": {"t2v": {k: sd for k in METRIC_KEYS}, "v2t": {k: sd for k in METRIC_KEYS}},
            "seeds": list(seeds)}


def test_verdict_needs_the_noise_margin():
    assert verdict(5.0, 2.0, +1) == "agrees"
    assert verdict(-5.0, 2.0, +1) == "differs"
    assert verdict(1.5, 2.0, +1) == "inconclusive"


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


def test_claims_on_a_hand_made_study():
    main = main_comparison({
        "clip4clip": metrics(10.0, 1.0), "xpool": metrics(12.0, 1.0), "starvr": metrics(20.0, 1.0),
        "clip4clip_wocr": metrics(40.0, 1.0), "xpool_wocr": metrics(41.0, 1.0), "tcd": metrics(41.5, 1.0),
    })
    modules = pd.DataFrame({"row": ["none", "CTCD", "CTCD+Co-Attn", "CTCD+HSC", "all"], "t2v_R@1": [30.0, 36.0, 36.5, 20.0, 45.0]})
    window = pd.DataFrame({"row": ["xi=0.2", "xi=1.0"], "t2v_R@1": [30.0, 41.0]})
    complexity = pd.DataFrame({"variant": ["starvr", "tcd"], "gflops": [228.0, 55.0]})
    tau = pd.DataFrame({"row": ["tau=0.1", "tau=1", "tau=5"], "t2v_R@1": [30.0, 40.0, 42.0]})
    claims = claims_table(main, {"modules": modules, "window": window, "tau": tau}, complexity).set_index("claim")
    assert claims.loc["Window-OCR captions beat per-instance OCR tokens (StarVR)", "verdict"] == "agrees"
    assert claims.loc["TCD beats every baseline", "verdict"] == "inconclusive"  # 41.5 vs 41.0 is within the noise
    assert claims.loc["CTCD beats plain cross-attention", "verdict"] == "agrees"
    assert claims.loc["Co-attention adds to CTCD", "verdict"] == "inconclusive"
    assert claims.loc["ξ = 1.0 (whole windows) is best", "verdict"] == "agrees"
    # τ = 5 beats τ = 1 by 2.0, inside the margin 2·√2·1.0 = 2.8 from TCD's seed sd
    assert claims.loc["Text-condition alone works best at τ = 1 on TextVR", "verdict"] == "inconclusive"
    assert claims.loc["TCD needs about 6× fewer FLOPs than StarVR", "verdict"] == "not comparable"  # our StarVR has TCD's encoders
    assert claims.loc["TCD trains far cheaper than StarVR", "verdict"] == "not measured"   # no GPU step times for starvr_paper
    # the window-OCR delta is +30 V2T R@1 for both baselines
    assert claims.loc["The window-OCR captioner helps every baseline", "verdict"] == "agrees"


def test_grids_with_several_seeds_are_judged_on_their_own_spread():
    main = main_comparison({"tcd": metrics(52.0, 0.5)})
    def grid(rows, sd, seeds):
        return pd.DataFrame({"row": [r for r, _ in rows], "t2v_R@1": [v for _, v in rows],
                             "t2v_R@1_sd": [sd] * len(rows), "seeds": [seeds] * len(rows)})
    rows = [("CTCD", 49.7), ("CTCD+Co-Attn", 52.1)]
    # one seed per row: TCD's sd 0.5 -> margin 2·√2·0.5 = 1.4 < 2.4: counts
    one = claims_table(main, {"modules": grid(rows, 0.0, 1)}, None).set_index("claim")
    assert one.loc["Co-attention adds to CTCD", "verdict"] == "agrees"
    # three seeds with sd 2.0 each: margin 2·√8 = 5.7 > 2.4: within the noise
    three = claims_table(main, {"modules": grid(rows, 2.0, 3)}, None).set_index("claim")
    assert three.loc["Co-attention adds to CTCD", "verdict"] == "inconclusive"
    assert "52.1 ± 2.0" in three.loc["Co-attention adds to CTCD", "ours"] and "each row's seed sd" in three.loc["Co-attention adds to CTCD", "why"]
    tau = grid([("tau=1", 45.5), ("tau=10", 52.4)], 1.0, 3)
    assert claims_table(main, {"tau": tau}, None).set_index("claim").iloc[-1].verdict == "differs"   # 6.9 > 2.8


def test_single_seed_metrics_files_have_null_sd_and_still_give_claims():
    one = {v: metrics(r1, None, seeds=(0,)) for v, r1 in (("clip4clip_wocr", 40.0), ("starvr", 20.0), ("tcd", 41.5))}
    main = main_comparison(one).set_index("variant")
    assert np.isnan(main.loc["tcd", "t2v_R@1_sd"])  # undefined, not 0
    claims = claims_table(main.reset_index(), {}, None).set_index("claim")
    claim = claims.loc["Window-OCR captions beat per-instance OCR tokens (StarVR)"]
    assert claim.verdict == "agrees" and "nan" not in claim.ours and claim.why.endswith("single seed: no noise estimate")


def test_missing_variants_are_not_testable_rather_than_guessed():
    claims = claims_table(main_comparison({"tcd": metrics(40.0)}), {}, None)
    assert claims.iloc[0].verdict == "not testable here"


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
