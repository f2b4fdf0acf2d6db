"""The claims table: verdicts by the paired bootstrap over test captions (hand-computed hit vectors), the cost claims
that read Table A1 (the complexity table from reports/bench), and the report's before -> after tables."""

import json

import numpy as np
import pandas as pd
import pytest

from tcd.bootstrap import N_RESAMPLES, Hits
from tcd.claims import RULE, claims_table, complexity_report, main_comparison, why_summary
from tcd.eval import METRIC_KEYS

FLOPS, TRAIN = "TCD needs about 6× fewer FLOPs than StarVR", "TCD trains far cheaper than StarVR"


def metrics(r1, sd=1.0, seeds=(0, 1, 2)):
    block = {k: (r1 if k == "R@1" else 50.0) for k in METRIC_KEYS}
    return {"t2v": dict(block), "v2t": dict(block), "std": {d: {k: sd for k in METRIC_KEYS} for d in ("t2v", "v2t")},
            "seeds": list(seeds)}


def claims(complexity):
    return claims_table({}, {}, complexity).set_index("claim")


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
    judged = claims_table({}, {}, table.reset_index()).set_index("claim")
    assert judged.loc[FLOPS, "verdict"] == "inconclusive" and "2.06×" in judged.loc[FLOPS, "ours"]   # 3800 / 1843.09


def test_complexity_report_without_benchmarks_keeps_the_study_rows(tmp_path):
    table = complexity_report([{"variant": "tcd", "gflops": 22.0}], tmp_path)
    assert table.variant.tolist() == ["tcd"] and np.isnan(table.loc[0, "gflops_clip_b32"])


# ---- verdicts from the paired bootstrap, on 20 test captions (one caption = 5 R@1 points) --------------------

N = 20


def hits(t2v, v2t=None, fingerprint=""):
    """Hits of one model: rows are seeds (a 1-d vector is one seed); v2t defaults to the T2V hits."""
    t2v = np.atleast_2d(np.asarray(t2v, dtype=bool))
    v2t = t2v if v2t is None else np.atleast_2d(np.asarray(v2t, dtype=bool))
    ids = np.array([f"v{i}" for i in range(t2v.shape[1])])
    return Hits(t2v, v2t, ids, ids, fingerprint)


def on(*captions):
    """A hit vector: hits on the given captions (indices) only."""
    return np.isin(np.arange(N), captions)


BASE = on(*range(10, 14))                 # captions 10-13 every model gets
AGREE, NONE = on(*range(10, 14), *range(6)), BASE   # +6 captions: (1 - 6/20)^20 = 0.0008 of resamples lose them all


def test_the_rule_is_stated_once_with_its_resample_count():
    assert "interval excludes 0" in RULE and f"{N_RESAMPLES:,} times" in RULE and "same resample for both sides" in RULE


@pytest.mark.parametrize("a, b, verdict", [
    (AGREE, NONE, "agrees"),        # +30 points, every resample keeps at least one of the 6: [+10, +50] > 0
    (NONE, AGREE, "differs"),       # the mirror: the interval is below 0
    (on(*range(10, 14), 0, 1), NONE, "inconclusive"),   # +10 from 2 captions: 0.9^20 = 12 % of resamples lose both
])
def test_each_outcome_on_hand_made_hits(a, b, verdict):
    row = claims_table({"tcd": hits(a), "lexical": hits(b)}, {}, None).set_index("claim").loc[
        "TCD beats plain OCR string matching (no learning)"]
    assert row.verdict == verdict and row.direction == "T2V"
    assert row.difference == pytest.approx(5.0 * (a.sum() - b.sum()))
    assert (row.ci_low > 0) == (verdict == "agrees") and (row.ci_high < 0) == (verdict == "differs")
    assert row.seeds_sd == "— / —"     # one seed each: no seed sd


def test_a_difference_todays_rule_calls_real_that_two_captions_carry():
    """Three seeds, nearly equal (one caption flips in one seed, for both models); TCD's +10 points are 2 of 20
    captions. Today's rule: 10 > 2·√(2.9² + 2.9²) = 8.2, 'agrees'. Over the captions, 12 % of the resamples drop
    both, so the interval includes 0: 'inconclusive'."""
    b = np.stack([BASE, BASE, BASE | on(15)])
    a = b | on(0, 1)
    sd = np.std([20.0, 20.0, 25.0], ddof=1)
    assert 10.0 > 2 * np.hypot(sd, sd)                       # the old margin says this difference is real
    row = claims_table({"tcd": hits(a), "lexical": hits(b)}, {}, None).set_index("claim").loc[
        "TCD beats plain OCR string matching (no learning)"]
    assert row.verdict == "inconclusive" and row.difference == pytest.approx(10.0) and row.ci_low == 0.0
    assert row.seeds_sd == "2.9 / 2.9" and "TCD 31.7 ± 2.9 vs" in row.ours and "21.7 ± 2.9" in row.ours


def study(**variants):
    return {name: hits(*h) if isinstance(h, tuple) else hits(h) for name, h in variants.items()}


def test_every_baseline_one_differs_decides_and_agrees_with_inconclusive_is_inconclusive():
    judged = claims_table(study(tcd=AGREE, clip4clip=NONE, xpool=on(*range(10, 14), *range(6), *range(14, 20))),
                          {}, None).set_index("claim").loc["TCD beats every baseline"]
    # vs clip4clip: +30, agrees; vs xpool (6 captions more than TCD): -30, differs -> differs, shown for xpool
    assert judged.verdict == "differs" and judged.difference == pytest.approx(-30.0) and judged.ci_high < 0
    assert "tcd − clip4clip +30.0 [+" in judged.why and "]: agrees" in judged.why and "tcd − xpool -30.0 [-" in judged.why
    assert "difference and interval of tcd − xpool" in judged.why and "best baseline xpool" in judged.ours
    mixed = claims_table(study(tcd=AGREE, clip4clip=NONE, xpool=AGREE & ~on(0, 1)), {}, None).set_index("claim")
    assert mixed.loc["TCD beats every baseline", "verdict"] == "inconclusive"      # {agrees, inconclusive}
    assert mixed.loc["TCD beats every baseline", "difference"] == pytest.approx(10.0)   # the deciding one: xpool
    both = claims_table(study(tcd=AGREE, clip4clip=NONE, xpool=NONE), {}, None).set_index("claim")
    assert both.loc["TCD beats every baseline", "verdict"] == "agrees"


def test_claims_quoting_table_a3_are_judged_on_v2t():
    """TCD leads by 6 captions in T2V but ties in V2T: Table A3 is video->text, so the claim is inconclusive."""
    judged = claims_table(study(tcd=(AGREE, NONE), clip4clip=(NONE, NONE), clip4clip_wocr=(NONE, AGREE)),
                          {}, None).set_index("claim")
    best = judged.loc["TCD beats every baseline"]
    assert best.direction == "V2T" and best.verdict == "differs"      # clip4clip_wocr leads V2T by 6 captions
    assert best.ours.startswith("V2T R@1: TCD 20.0 vs best baseline clip4clip_wocr 50.0")
    helps = judged.loc["The window-OCR captioner helps every baseline"]
    assert helps.direction == "V2T" and helps.verdict == "agrees" and helps.difference == pytest.approx(30.0)
    assert claims_table(study(tcd=(AGREE, NONE), clip4clip=(NONE, NONE)), {}, None).set_index("claim").loc[
        "TCD beats every baseline", "verdict"] == "inconclusive"    # T2V +30 would have agreed


def test_window_ocr_against_starvr_and_missing_variants():
    judged = claims_table(study(tcd=AGREE, clip4clip_wocr=AGREE, starvr=NONE), {}, None).set_index("claim")
    row = judged.loc["Window-OCR captions beat per-instance OCR tokens (StarVR)"]
    assert row.verdict == "agrees" and row.ours == "T2V R@1: TCD 50.0, CLIP4Clip+window-OCR 50.0 vs StarVR 20.0"
    alone = claims_table(study(tcd=AGREE), {}, None)
    assert alone.iloc[0].verdict == "not testable here"


def test_modules_and_tau_rows_are_bootstrapped_on_their_own_seeds():
    modules = {"none": hits(NONE), "CTCD": hits(AGREE), "CTCD+Co-Attn": hits(AGREE | on(6)), "all": hits(NONE)}
    judged = claims_table({}, {"modules": modules}, None).set_index("claim")
    assert judged.loc["CTCD beats plain cross-attention", "verdict"] == "agrees"
    assert judged.loc["Co-attention adds to CTCD", "verdict"] == "inconclusive"   # one caption
    assert judged.loc["HSC completes the model", "verdict"] == "differs"
    tau = {"tau=0.1": hits(NONE), "tau=1": hits(AGREE), "tau=5": hits(AGREE)}
    row = claims_table({}, {"tau": tau}, None).set_index("claim").loc["Text-condition alone works best at τ = 1 on TextVR"]
    assert row.verdict == "inconclusive" and "tau=1 − tau=5 +0.0 [+0.0, +0.0]: inconclusive" in row.why   # a tie


def xi_verdict(window):
    return claims_table({}, {"window": window}, None).set_index("claim").loc["ξ = 1.0 (whole windows) is best", "verdict"]


def test_xi_is_not_testable_when_rows_build_the_same_window_captions():
    """EasyOCR at 2 fps: ξ = 0.6 cuts no sample that ξ = 1.0 keeps, so both rows train and test on the same captions
    (same fingerprint) and tie; the claim cannot come out 'agrees'. Ground-truth tracks: every ξ differs."""
    window = {"xi=0.2": hits(NONE, fingerprint="a"), "xi=0.6": hits(AGREE, fingerprint="b"),
              "xi=1.0": hits(AGREE, fingerprint="b")}
    window_gt = {"xi=0.2": hits(NONE, fingerprint="c"), "xi=0.6": hits(NONE, fingerprint="d"),
                 "xi=1.0": hits(AGREE, fingerprint="e")}
    judged = claims_table({}, {"window": window, "window_gt": window_gt}, None).set_index("claim")
    row = judged.loc["ξ = 1.0 (whole windows) is best"]
    assert row.verdict == "not testable at this OCR rate" and row.why.startswith("xi=0.6 builds the very window captions of xi=1.0")
    assert judged.loc["ξ = 1.0 is best, on ground-truth tracks", "verdict"] == "agrees"
    # a row that beats the target still refutes the claim
    window["xi=0.2"] = hits(AGREE | on(6, 7, 8, 9, 14, 15), fingerprint="a")
    assert xi_verdict(window) == "differs"
    # the same hits without a shared fingerprint (a ground-truth grid that ties by chance) stay a tie: inconclusive
    window = {k: hits(h.t2v, fingerprint=k) for k, h in window.items() if k != "xi=0.2"}
    assert xi_verdict(window) == "inconclusive"


def test_the_table_has_the_interval_and_sd_columns_for_the_report():
    table = claims_table(study(tcd=AGREE, lexical=NONE), {}, None)
    assert list(table.columns[:7]) == ["claim", "direction", "difference", "ci_low", "ci_high", "seeds_sd", "verdict"]

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


def test_history_record_is_what_changes_since_reads(tmp_path):
    import pandas as pd

    from tcd.claims import changes_since, history_record

    (tmp_path / "ablations").mkdir()
    pd.DataFrame([{"variant": "tcd", "seeds": 3, "t2v_R@1": 23.666, "t2v_R@1_sd": 0.6667, "v2t_R@1": 22.2222},
                  {"variant": "lexical", "seeds": 1, "t2v_R@1": 30.7, "t2v_R@1_sd": None, "v2t_R@1": 27.3}]
                 ).to_csv(tmp_path / "main_comparison.csv", index=False)
    pd.DataFrame([{"row": "base", "t2v_R@1": 23.666}, {"row": "scratch", "t2v_R@1": 21.777}]
                 ).to_csv(tmp_path / "ablations" / "levers.csv", index=False)
    pd.DataFrame([{"row": "base", "seed": 0, "t2v_R@1": 24.0}]).to_csv(tmp_path / "ablations" / "levers_runs.csv")
    pd.DataFrame([{"claim": "A", "verdict": "agrees"}]).to_csv(tmp_path / "claims.csv", index=False)
    record = history_record(tmp_path, "2026-12-06", "abc1234", "a run")
    assert record["main"] == {"tcd": {"t2v_R@1": 23.67, "t2v_R@1_sd": 0.67, "v2t_R@1": 22.22, "seeds": 3},
                              "lexical": {"t2v_R@1": 30.7, "t2v_R@1_sd": None, "v2t_R@1": 27.3, "seeds": 1}}
    assert record["ablations"] == {"levers": {"base": 23.67, "scratch": 21.78}}   # the per-run table is left out
    assert record["verdicts"] == {"A": "agrees"} and record["commit"] == "abc1234"
    numbers, _ = changes_since(record, pd.DataFrame([{"variant": "tcd", "t2v_R@1": 25.0, "t2v_R@1_sd": 1.0}]),
                               pd.DataFrame([{"claim": "A", "verdict": "agrees"}]))
    assert numbers.change.tolist() == [pytest.approx(1.33)]


def test_fusion_claims_and_floor_rows():
    from tcd.claims import with_floor_rows

    fused = claims_table(study(**{"tcd+lexical": AGREE, "lexical": NONE, "clip4clip_wocr+lexical": AGREE & ~on(0)}),
                         {}, None).set_index("claim")
    assert fused.loc["TCD adds to plain string matching (late fusion)", "verdict"] == "agrees"
    assert fused.loc["TCD beats the best baseline when both are fused with string matching", "verdict"] == "inconclusive"
    assert "CLIP4Clip+window-OCR+BM25 45.0" in fused.loc[
        "TCD beats the best baseline when both are fused with string matching", "ours"]
    # a fused row is no baseline: TCD is judged against clip4clip_wocr only
    best = claims_table(study(tcd=AGREE, clip4clip_wocr=NONE, **{"tcd+lexical": NONE}), {}, None).set_index("claim")
    assert best.loc["TCD beats every baseline", "verdict"] == "agrees" and "tcd+lexical" not in best.loc["TCD beats every baseline", "why"]
    lexical = metrics(60.0, sd=None, seeds=(0,))
    ocr = pd.DataFrame([{"row": "easyocr", "seeds": 3, "t2v_R@1": 50.0, "t2v_R@1_sd": 1.0}])
    rows = with_floor_rows(ocr, {"lexical": lexical}).set_index("row")
    assert list(rows.index) == ["easyocr", "BM25, easyocr"] and rows.loc["BM25, easyocr", "t2v_R@1"] == 60.0
    assert rows.loc["BM25, easyocr", "seeds"] == 1 and np.isnan(rows.loc["BM25, easyocr", "t2v_R@1_sd"])


def test_why_summary_reads_the_breakdown_and_the_levers():
    kinds = pd.DataFrame([{"by": "caption", "kind": "digits", "captions": 4, "variant": "tcd", "R@1": 25.0},
                          {"by": "caption", "kind": "digits", "captions": 4, "variant": "lexical", "R@1": 75.0},
                          {"by": "caption", "kind": "no scene text", "captions": 2, "variant": "tcd", "R@1": 50.0},
                          {"by": "caption", "kind": "no scene text", "captions": 2, "variant": "lexical", "R@1": 0.0}])
    levers = {"base": hits(NONE), "epochs=12": hits(AGREE), "words=8": hits(NONE | on(0))}
    text = why_summary(kinds, levers, n_videos=50)
    assert "quote no scene text (2) can only be matched by what the video shows: T2V R@1 tcd 50.0, against 2.0" in text
    assert "the string match leads tcd on digits (4 captions: 75.0 vs 25.0)" in text
    assert "tcd leads on no scene text (2 captions: 0.0 vs 50.0)" in text
    assert "`epochs=12`: T2V R@1 50.0 vs base 20.0 (+30.0, 95 % interval [+" in text and "): helps." in text
    assert "`words=8`: T2V R@1 25.0 vs base 20.0 (+5.0, 95 % interval [+0.0, +" in text and "no measurable effect" in text
