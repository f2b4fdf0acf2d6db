"""Claims that read Table A1 (the cost claims, the complexity table from reports/bench) and the best-row claims."""

import json

import numpy as np
import pandas as pd
import pytest

from tcd.claims import best_row_verdict, claims_table, complexity_report, main_comparison
from tcd.eval import METRIC_KEYS

FLOPS, TRAIN = "TCD needs about 6× fewer FLOPs than StarVR", "TCD trains far cheaper than StarVR"


def metrics(r1, sd=1.0, seeds=(0, 1, 2)):
    block = {k: (r1 if k == "R@1" else 50.0) for k in METRIC_KEYS}
    return {"t2v": dict(block), "v2t": dict(block), "std": {d: {k: sd for k in METRIC_KEYS} for d in ("t2v", "v2t")},
            "seeds": list(seeds)}


MAIN = main_comparison({"starvr": metrics(20.0), "tcd": metrics(41.5)})


def claims(complexity, ablations=None):
    return claims_table(MAIN, ablations or {}, complexity).set_index("claim")


def test_our_starvr_shares_tcds_encoders_so_its_costs_are_not_comparable():
    complexity = pd.DataFrame({"variant": ["starvr", "tcd"], "gflops": [228.0, 55.0],
                               "gpu_step_seconds_clip_b32": [0.22, 0.20], "gpu_device": ["NVIDIA H200"] * 2})
    table = claims(complexity)
    assert table.loc[FLOPS, "verdict"] == "not comparable" and "4.15×" in table.loc[FLOPS, "ours"]   # 228 / 55
    assert "shares TCD's ViT-B/32" in table.loc[FLOPS, "why"]
    # our StarVR's step time is shown, but the claim waits for StarVR with its own encoders on a GPU
    assert table.loc[TRAIN, "verdict"] == "not measured" and "1.10×" in table.loc[TRAIN, "ours"]
    assert "needs a GPU run of `tcd bench train --preset clip-b32`" in table.loc[TRAIN, "why"]


def paper_scale(starvr_gmacs, **columns):
    """tcd and starvr_paper at clip-b32 (batch 16: gflops = 2 · 16 · GMACs per video), words of 3 tokens."""
    return pd.DataFrame({"variant": ["starvr", "tcd", "starvr_paper"], "gflops": [228.0, 55.0, np.nan],
                         "gmacs_per_video_clip_b32": [np.nan, 50.0, starvr_gmacs],
                         "gflops_clip_b32": [np.nan, 1600.0, 32.0 * starvr_gmacs],
                         "word_tokens": [np.nan, np.nan, 3], "gmacs_per_word_token": [np.nan, np.nan, 10.0], **columns})


def test_starvr_paper_flops_are_a_lower_bound_so_a_small_ratio_is_inconclusive():
    claim = claims(paper_scale(100.0)).loc[FLOPS]
    assert claim.verdict == "inconclusive" and "2.00×" in claim.ours and "100.0 vs 50.0 GMACs per video" in claim.ours
    # 395.2 / 61.8 = 6.39×: 6.39 · 50 - 100 = 219.7 GMACs missing, at 10 per token: 3 + 22 = ~25 tokens per word
    assert "each extra token adding 10.0 GMACs per video" in claim.why and "~25 tokens" in claim.why
    assert claims(paper_scale(150.0)).loc[FLOPS, "verdict"] == "agrees"   # 3.00×, already at the shortest words


def test_training_claim_reads_starvr_papers_gpu_step_time():
    steps = dict(gpu_step_seconds_clip_b32=[0.22, 0.20, 0.90], gpu_device=["NVIDIA H200"] * 3,
                 gpu_step_seconds_clip_b32_finetune_text=[np.nan, 0.25, 1.50])
    claim = claims(paper_scale(100.0, **steps)).loc[TRAIN]
    assert claim.verdict == "agrees" and "4.50×" in claim.ours and "6.00× with the text towers fine-tuned" in claim.ours
    steps["gpu_step_seconds_clip_b32"] = [0.22, 0.20, 0.40]
    assert claims(paper_scale(100.0, **steps)).loc[TRAIN, "verdict"] == "inconclusive"   # 2.0×, words at their shortest


def write(path, rows):
    path.write_text(json.dumps(rows))


def test_complexity_report_joins_study_rows_and_committed_benchmarks(tmp_path):
    write(tmp_path / "complexity_clip-b32.json", [
        {"variant": "tcd", "video_tokens": 12, "ocr_tokens": 12, "params": 154693377, "gflops": 1843.09, "gmacs_per_video": 57.6},
        {"variant": "starvr_paper", "video_tokens": 1, "ocr_tokens": 200, "params": 250000000, "gflops": 3800.0,
         "gmacs_per_video": 118.75, "word_tokens": 3, "gmacs_per_word_token": 8.49}])
    write(tmp_path / "train_step_clip-b32.json", [
        {"variant": "tcd", "device": "NVIDIA H200", "step_seconds": 0.2, "videos_per_s": 80.0},
        {"variant": "starvr_paper", "device": "cpu (1 threads)", "step_seconds": 30.0, "videos_per_s": 0.5}])
    flops = [{"variant": v, "video_tokens": 12, "ocr_tokens": o, "params": 10, "trainable_params": 5, "gflops": g}
             for v, o, g in (("clip4clip", 0, 20.0), ("tcd", 12, 22.0))]
    summaries = pd.DataFrame({"variant": ["tcd", "tcd", "clip4clip"], "seconds_per_epoch": [10.0, 14.0, 9.0]})
    main = main_comparison({"clip4clip": metrics(30.0), "tcd": metrics(41.5)})
    table = complexity_report(flops, tmp_path, summaries, main).set_index("variant")
    assert table.index.tolist() == ["clip4clip", "tcd", "starvr_paper"]    # the bench-only row is added
    assert table.loc["tcd", "seconds_per_epoch"] == 12.0 and table.loc["tcd", "t2v_R@1"] == 41.5
    assert table.loc["starvr_paper", "ocr_tokens"] == 200 and np.isnan(table.loc["starvr_paper", "gflops"])
    assert table.loc["starvr_paper", "gflops_clip_b32"] == 3800.0 and table.loc["starvr_paper", "paper_gflops_b16"] == 395.2
    assert np.isnan(table.loc["clip4clip", "gflops_clip_b32"])   # not in the benchmark file
    # a step timed on a CPU is not a GPU step time; a missing benchmark file leaves its column empty
    assert table.loc["tcd", "gpu_step_seconds_clip_b32"] == 0.2 and np.isnan(table.loc["starvr_paper", "gpu_step_seconds_clip_b32"])
    assert table.gpu_step_seconds_clip_b32_finetune_text.isna().all()
    judged = claims_table(main, {}, table.reset_index()).set_index("claim")
    assert judged.loc[FLOPS, "verdict"] == "inconclusive" and "2.06×" in judged.loc[FLOPS, "ours"]   # 3800 / 1843.09


def test_complexity_report_without_benchmarks_keeps_the_study_rows(tmp_path):
    table = complexity_report([{"variant": "tcd", "gflops": 22.0}], tmp_path)
    assert table.variant.tolist() == ["tcd"] and np.isnan(table.loc[0, "gflops_clip_b32"])


def margin(other):
    return 2.8


@pytest.mark.parametrize("values, verdict, why", [
    ({"tau=1": 45.0, "tau=5": 40.0}, "agrees", "tau=1 is the best row, 5.0 ahead of the runner-up tau=5: beyond the noise margin 2.8"),
    ({"tau=1": 42.0, "tau=5": 40.0}, "inconclusive", "tau=1 is the best row, 2.0 ahead of the runner-up tau=5: within the noise margin 2.8"),
    ({"tau=1": 40.0, "tau=5": 40.0, "tau=10": 30.0}, "inconclusive", "tau=1 ties for best with tau=5 at 40.0"),
    ({"tau=1": 38.0, "tau=5": 40.0}, "inconclusive", "best row tau=5 leads tau=1 by 2.0: within the noise margin 2.8"),
    ({"tau=1": 45.5, "tau=10": 52.4}, "differs", "best row tau=10 leads tau=1 by 6.9: beyond the noise margin 2.8"),
    ({"tau=1": 40.0, "tau=5": 45.0, "tau=10": 45.0}, "differs", "best rows tau=5, tau=10 (tied at 45.0) lead tau=1 by 5.0"),
])
def test_best_row_verdict_says_why_for_each_verdict(values, verdict, why):
    got, text = best_row_verdict(values, "tau=1", margin, "each row's seed sd")
    assert got == verdict and text.startswith(why)


def test_best_row_claims_report_ties_in_the_claims_table():
    tau = pd.DataFrame({"row": ["tau=0.1", "tau=1", "tau=5"], "t2v_R@1": [30.0, 42.0, 42.0]})
    claim = claims_table(MAIN, {"tau": tau}, None).set_index("claim").loc["Text-condition alone works best at τ = 1 on TextVR"]
    assert claim.verdict == "inconclusive" and claim.why.startswith("tau=1 ties for best with tau=5 at 42.0")
    window = pd.DataFrame({"row": ["xi=0.2", "xi=1.0"], "t2v_R@1": [30.0, 41.0]})
    claim = claims_table(MAIN, {"window": window}, None).set_index("claim").loc["ξ = 1.0 (whole windows) is best"]
    # margin from TCD's seed sd 1.0 (one seed per row): 2·√2 = 2.8
    assert claim.verdict == "agrees" and "11.0 ahead of the runner-up xi=0.2: beyond the noise margin 2.8" in claim.why


def test_string_match_floor_is_a_claim_of_its_own_and_not_a_baseline():
    import numpy as np
    import pandas as pd

    from tcd.claims import claims_table

    def row(variant, r1, sd, seeds):
        return {"variant": variant, "seeds": seeds, "t2v_R@1": r1, "t2v_R@1_sd": sd, "v2t_R@1": r1, "v2t_R@1_sd": sd}

    main = pd.DataFrame([row("clip4clip", 10.0, 1.0, 3), row("tcd", 52.0, 1.0, 3),
                         row("lexical", 57.3, np.nan, 1), row("lexical_gt", 65.6, np.nan, 1)])
    claims = claims_table(main, {}, None).set_index("claim")
    floor = claims.loc["TCD beats plain OCR string matching (no learning)"]
    # 52.0 - 57.3 = -5.3 beyond the margin 2·√(1² + 0²) = 2: TCD falls below the floor
    assert floor.verdict == "differs" and "57.3" in floor.ours and "65.6" in floor.ours
    best = claims.loc["TCD beats every baseline"]
    assert "clip4clip" in best.ours and "lexical" not in best.ours   # the floor is not a learned baseline
    assert not claims.why.str.contains("single seed").any()           # three seeds; the floor's one run is no "seed"


def test_changes_since_an_earlier_run_mark_changed_verdicts_and_numbers():
    import pandas as pd

    from tcd.claims import changes_since

    previous = {"main": {"tcd": {"t2v_R@1": 52.08}, "gone": {"t2v_R@1": 1.0}},
                "verdicts": {"A": "agrees", "B": "differs"}}
    main = pd.DataFrame([{"variant": "tcd", "t2v_R@1": 50.0, "t2v_R@1_sd": 2.0}])
    claims = pd.DataFrame([{"claim": "A", "verdict": "agrees"}, {"claim": "B", "verdict": "inconclusive"},
                           {"claim": "C", "verdict": "differs"}])
    numbers, verdicts = changes_since(previous, main, claims)
    assert numbers.to_dict("records") == [{"variant": "tcd", "before": 52.08, "after": 50.0, "after_sd": 2.0,
                                           "change": pytest.approx(-2.08)}]
    assert verdicts.to_dict("records") == [
        {"claim": "A", "before": "agrees", "after": "agrees", "changed": False},
        {"claim": "B", "before": "differs", "after": "inconclusive", "changed": True},
        {"claim": "C", "before": "—", "after": "differs", "changed": True}]   # a new claim


def test_fusion_claims_and_floor_rows():
    from tcd.claims import with_floor_rows

    study = {"tcd": metrics(50.0, sd=1.0), "lexical": metrics(60.0, sd=None, seeds=(0,)),
             "tcd+lexical": metrics(66.0, sd=1.0), "clip4clip_wocr+lexical": metrics(65.0, sd=1.0),
             "clip4clip_wocr": metrics(52.0, sd=1.0)}
    table = claims_table(main_comparison(study), {}, None).set_index("claim")
    # 66 vs 60: margin 2·√(1² + 0²) = 2 -> agrees; 66 vs 65: margin 2·√2 ≈ 2.83 -> inconclusive
    assert table.loc["TCD adds to plain string matching (late fusion)", "verdict"] == "agrees"
    assert table.loc["TCD beats the best baseline when both are fused with string matching", "verdict"] == "inconclusive"
    # three seeds with the same fused R@1 (sd 0) borrow TCD's sd: 61.5 vs 60 is within 2·1, so not "agrees"
    same = dict(study, **{"tcd+lexical": metrics(61.5, sd=0.0)})
    assert claims_table(main_comparison(same), {}, None).set_index("claim").loc[
        "TCD adds to plain string matching (late fusion)", "verdict"] == "inconclusive"
    # a fused row is no baseline: TCD (50) is judged against clip4clip_wocr (52), not against 65
    assert "clip4clip_wocr 52.0" in table.loc["TCD beats every baseline", "ours"]
    ocr = pd.DataFrame([{"row": "easyocr", "seeds": 3, "t2v_R@1": 50.0, "t2v_R@1_sd": 1.0}])
    rows = with_floor_rows(ocr, {"lexical": study["lexical"]}).set_index("row")
    assert list(rows.index) == ["easyocr", "BM25, easyocr"] and rows.loc["BM25, easyocr", "t2v_R@1"] == 60.0
    assert rows.loc["BM25, easyocr", "seeds"] == 1 and np.isnan(rows.loc["BM25, easyocr", "t2v_R@1_sd"])


def test_why_summary_reads_the_breakdown_and_the_levers():
    from tcd.claims import why_summary

    kinds = pd.DataFrame([{"by": "caption", "kind": "digits", "captions": 4, "variant": "tcd", "R@1": 25.0},
                          {"by": "caption", "kind": "digits", "captions": 4, "variant": "lexical", "R@1": 75.0},
                          {"by": "caption", "kind": "no scene text", "captions": 2, "variant": "tcd", "R@1": 50.0},
                          {"by": "caption", "kind": "no scene text", "captions": 2, "variant": "lexical", "R@1": 0.0}])
    levers = pd.DataFrame([{"row": "base", "t2v_R@1": 50.0, "t2v_R@1_sd": 1.0},
                           {"row": "epochs=12", "t2v_R@1": 55.0, "t2v_R@1_sd": 1.0},   # +5 > 2·√2: helps
                           {"row": "words=8", "t2v_R@1": 49.0, "t2v_R@1_sd": 1.0}])    # -1: within the noise
    text = why_summary(kinds, levers, n_videos=50)
    assert "quote no scene text (2) can only be matched by what the video shows: T2V R@1 tcd 50.0, against 2.0" in text
    assert "the string match leads tcd on digits (4 captions: 75.0 vs 25.0)" in text
    assert "tcd leads on no scene text (2 captions: 0.0 vs 50.0)" in text
    assert "`epochs=12`: T2V R@1 55.0 vs base 50.0 (+5.0, noise margin 2.8): helps" in text
    assert "`words=8`" in text and "no measurable effect" in text


def test_a_fused_sd_of_zero_is_not_shown_as_tcds_and_said_to_be_borrowed():
    study = {"tcd": metrics(50.0, sd=2.0), "lexical": metrics(40.0, sd=None, seeds=(0,)),
             "tcd+lexical": metrics(46.0, sd=0.0)}
    row = claims_table(main_comparison(study), {}, None).set_index("claim").loc[
        "TCD adds to plain string matching (late fusion)"]
    assert "TCD+BM25 46.0 vs" in row.ours and "noise margin 4.0" in row.why and "uses TCD's sd" in row.why
    assert row.verdict == "agrees"   # 6 > 2·2
