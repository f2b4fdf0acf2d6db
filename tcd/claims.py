"""The paper's claims against ours: Table A3's shape with the paper's numbers, and the claims table.

Inputs are the study's outputs (per-variant metrics, ablation tables from :func:`tcd.study.mean_sd`,
the complexity table); only the report stage reads this module, so refining a verdict never re-runs
training.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from tcd import paper
from tcd.eval import METRIC_KEYS
from tcd.study import DIRECTIONS


LEXICAL = ("lexical", "lexical_gt")  # the no-learning string-match floor (tcd.lexical): EasyOCR / ground-truth tracks


def main_comparison(metrics: dict[str, dict]) -> pd.DataFrame:
    """Table A3's shape: one row per variant, T2V and V2T mean ± sd over seeds, with the paper's TextVR
    numbers beside ours where the appendix prints them (NaN elsewhere)."""
    rows = []
    for variant, m in metrics.items():
        row = {"variant": variant, "seeds": len(m["seeds"])}
        for d in DIRECTIONS:
            for k in METRIC_KEYS:
                row[f"{d}_{k}"] = m[d][k]
                row[f"{d}_{k}_sd"] = np.nan if m["std"][d][k] is None else m["std"][d][k]  # null: one seed
        for i, k in enumerate(METRIC_KEYS):
            row[f"paper_v2t_{k}"] = paper.V2T_TEXTVR.get(variant, (np.nan,) * 5)[i]
            row[f"paper_t2v_{k}"] = paper.T2V_TEXTVR.get(variant, {}).get(k, np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def is_trained(variant: str) -> bool:
    """A learned model of the main comparison: not the string-match floor, not a late fusion with it."""
    return variant not in LEXICAL and "+" not in variant


def with_floor_rows(table: pd.DataFrame, metrics: dict[str, dict]) -> pd.DataFrame:
    """The OCR-source ablation (:func:`tcd.study.mean_sd` rows) with the string-match floor on each source beside it:
    rows ``BM25, easyocr`` and ``BM25, provided`` from the ``lexical`` / ``lexical_gt`` evaluations (one run each)."""
    rows = []
    for variant, source in (("lexical", "easyocr"), ("lexical_gt", "provided")):
        if variant in metrics:
            m = metrics[variant]
            rows.append({"row": f"BM25, {source}", "seeds": len(m["seeds"]),
                         **{f"{d}_{k}": m[d][k] for d in DIRECTIONS for k in METRIC_KEYS},
                         **{f"{d}_{k}_sd": np.nan for d in DIRECTIONS for k in METRIC_KEYS}})
    return pd.concat([table, pd.DataFrame(rows)], ignore_index=True) if rows else table


@dataclasses.dataclass(frozen=True)
class Claim:
    claim: str
    paper: str
    ours: str
    verdict: str  # agrees | differs | inconclusive | not testable here | not comparable | not measured
    why: str


def verdict(difference: float, margin: float, paper_sign: int) -> str:
    """'agrees' when our difference has the paper's sign and exceeds ``margin`` (the seed noise);
    'differs' when it exceeds the margin with the other sign; otherwise 'inconclusive'."""
    if abs(difference) <= margin:
        return "inconclusive"
    return "agrees" if np.sign(difference) == paper_sign else "differs"


def _pm(mean: float, sd: float) -> str:
    return f"{mean:.1f} ± {sd:.1f}" if sd else f"{mean:.1f}"


def best_row_verdict(values: dict[str, float], target: str, margin: Callable[[str], float], noise: str) -> tuple[str, str]:
    """Is `target` the best row? 'agrees' when it alone is best and leads the runner-up beyond `margin(runner-up)`;
    'differs' when a best row leads it beyond `margin(that row)`; else 'inconclusive' (a tie for best, or a gap
    within the noise). Returns (verdict, why), the why naming the rows, the gap and the margin; rows with equal
    values are reported as a tie."""
    top = max(values.values())
    best = [row for row, value in values.items() if math.isclose(value, top, rel_tol=0.0, abs_tol=1e-9)]
    if target in best:
        if len(best) > 1:
            return "inconclusive", f"{target} ties for best with {', '.join(r for r in best if r != target)} at {top:.1f}"
        second = max((row for row in values if row != target), key=values.get)
        lead, m = top - values[second], margin(second)
        where = "beyond" if lead > m else "within"
        return ("agrees" if lead > m else "inconclusive",
                f"{target} is the best row, {lead:.1f} ahead of the runner-up {second}: {where} the noise margin {m:.1f}, from {noise}")
    gap, m = top - values[target], min(margin(row) for row in best)
    leaders = f"best row {best[0]}" if len(best) == 1 else f"best rows {', '.join(best)} (tied at {top:.1f})"
    where = "beyond" if gap > m else "within"
    return ("differs" if gap > m else "inconclusive",
            f"{leaders} {'leads' if len(best) == 1 else 'lead'} {target} by {gap:.1f}: {where} the noise margin {m:.1f}, from {noise}")


def claims_table(main: pd.DataFrame, ablations: dict[str, pd.DataFrame], complexity: pd.DataFrame | None) -> pd.DataFrame:
    """Each claim of the paper -> what it measured -> what we measured -> verdict, with the reason.

    ``main``: :func:`main_comparison`; ``ablations``: name -> :func:`mean_sd` table (column ``row``);
    ``complexity``: :func:`complexity_report` (the cost claims: :func:`cost_claims`).
    Noise: a difference counts only beyond 2 standard errors of a difference, 2·√(sd_a² + sd_b²), using
    the seeds' sd of each side; ablation rows use their own seed sd when the grid ran several seeds and
    borrow the sd of TCD's main-comparison seeds when it ran one.
    Missing inputs make a claim 'not testable here' rather than a guess.
    """
    by_variant = main.set_index("variant").fillna({c: 0.0 for c in main.columns if c.endswith("_sd")})  # one seed: no margin
    tcd_sd = float(by_variant.loc["tcd", "t2v_R@1_sd"]) if "tcd" in by_variant.index else 0.0

    def stat(variant: str, metric: str = "t2v_R@1") -> tuple[float, float] | None:
        if variant not in by_variant.index:
            return None
        return float(by_variant.loc[variant, metric]), float(by_variant.loc[variant, f"{metric}_sd"])

    def diff(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
        return a[0] - b[0], 2.0 * float(np.hypot(a[1], b[1]))

    single_seed = bool((main[main.variant.map(is_trained)].seeds < 2).any())  # the deterministic floor has one "seed"
    rows: list[Claim] = []
    c4c_w, star, tcd = (stat(v) for v in ("clip4clip_wocr", "starvr", "tcd"))

    if c4c_w and star and tcd:
        d, margin = diff(c4c_w, star)
        rows.append(Claim(
            "Window-OCR captions beat per-instance OCR tokens (StarVR)",
            "T2V R@1: TCD 60.4 vs StarVR 19.2 (Table A1)",
            f"T2V R@1: TCD {_pm(*tcd)}, CLIP4Clip+window-OCR {_pm(*c4c_w)}, StarVR {_pm(*star)}",
            verdict(d, margin, +1),
            "judged on CLIP4Clip+window-OCR vs StarVR: same encoders and meanP video, only the OCR representation differs",
        ))
    else:
        rows.append(Claim("Window-OCR captions beat per-instance OCR tokens (StarVR)", "Table A1", "—",
                          "not testable here", "clip4clip_wocr, starvr and tcd must all be in train.variants"))

    helps = [(name, diff(stat(v + "_wocr", "v2t_R@1"), stat(v, "v2t_R@1")))
             for name, v in (("CLIP4Clip", "clip4clip"), ("X-Pool", "xpool")) if stat(v) and stat(v + "_wocr")]
    if helps:
        verdicts = {verdict(d, m, +1) for _, (d, m) in helps}
        rows.append(Claim(
            "The window-OCR captioner helps every baseline",
            "V2T R@1 on TextVR: CLIP4Clip +7.3, X-Pool +12.4 (Table A3; +13.0 on average over four baselines)",
            ", ".join(f"{n} {d:+.1f}" for n, (d, _) in helps) + " (V2T R@1)",
            verdicts.pop() if len(verdicts) == 1 else "inconclusive",
            "each baseline vs the same baseline plus the OCR-window branch, same training",
        ))

    if tcd:
        others = [(v, stat(v)) for v in by_variant.index if v != "tcd" and is_trained(v)]
        if others:
            best_name, best = max(others, key=lambda kv: kv[1][0])
            d, margin = diff(tcd, best)
            rows.append(Claim(
                "TCD beats every baseline",
                "V2T R@1 on TextVR: TCD 51.9 vs X-Pool+window-OCR 34.3, the best baseline listed (Table A3)",
                f"T2V R@1: TCD {_pm(*tcd)} vs best baseline {best_name} {_pm(*best)}",
                verdict(d, margin, +1),
                "TCD vs the strongest other variant of this study",
            ))

    if tcd and (floor := stat("lexical")):
        d, margin = diff(tcd, floor)
        gt = stat("lexical_gt")
        rows.append(Claim(
            "TCD beats plain OCR string matching (no learning)",
            "not reported by the paper (a reviewer's first question)",
            f"T2V R@1: TCD {_pm(*tcd)} vs BM25 of the caption against the video's OCR words {floor[0]:.1f}"
            + (f" ({gt[0]:.1f} on ground-truth tracks)" if gt else ""),
            verdict(d, margin, +1),
            "the same EasyOCR tracks feed both; BM25 is deterministic, so the margin is TCD's seed spread alone; "
            "a learned model below this floor has not yet learned what exact string matching gives",
        ))

    rows.extend(fusion_claims(stat, diff, tcd_sd))

    def row_stats(table: pd.DataFrame) -> tuple[dict[str, tuple[float, float]], bool]:
        """row -> (T2V R@1 mean, sd for the noise margin), and whether that sd is the rows' own (several
        seeds) rather than TCD's main-comparison sd (one seed)."""
        own = "t2v_R@1_sd" in table and "seeds" in table and bool((table.seeds >= 2).all())
        return {r["row"]: (float(r["t2v_R@1"]), float(r["t2v_R@1_sd"]) if own else tcd_sd)
                for _, r in table.iterrows()}, own

    def shown(stat: tuple[float, float], own: bool) -> str:
        return _pm(*stat) if own else f"{stat[0]:.1f}"

    def noise(own: bool) -> str:
        return "each row's seed sd" if own else "TCD's main-comparison seed sd (one seed per row)"

    if (modules := ablations.get("modules")) is not None:
        r1, own = row_stats(modules)
        for claim, paper_text, a, b in (
            ("CTCD beats plain cross-attention", "CTCD 56.9 vs none 53.6 (Table A4, MSR-VTT)", "CTCD", "none"),
            ("Co-attention adds to CTCD", "CTCD+Co-Attn 57.6 vs CTCD 56.9 (Table A4)", "CTCD+Co-Attn", "CTCD"),
            ("HSC completes the model", "all 59.7 vs CTCD+Co-Attn 57.6; HSC without co-attention hurts: 49.8 (Table A4)", "all", "CTCD+Co-Attn"),
        ):
            if a in r1 and b in r1:
                d, margin = diff(r1[a], r1[b])
                rows.append(Claim(claim, paper_text, f"T2V R@1 {a} {shown(r1[a], own)} vs {b} {shown(r1[b], own)}",
                                  verdict(d, margin, +1),
                                  f"paper on MSR-VTT, ours on SynthTextVR; noise margin {margin:.1f} from {noise(own)}"))

    def best_row_claim(table: pd.DataFrame, target: tuple[str, ...], claim: str, paper_text: str, note: str = "") -> Claim:
        """Claim 'row `target` is the best row of `table`', judged by `best_row_verdict`."""
        r1, own = row_stats(table)
        row = next((row for row in r1 if row in target), None)
        if row is None or len(r1) < 2:
            why = f"the grid has no row {target[0]}" if row is None else f"the grid has only the row {row}"
            return Claim(claim, paper_text, "—", "not testable here", why)
        ours = "T2V R@1 " + ", ".join(f"{k} {shown(v, own)}" for k, v in r1.items())
        verdict_, why = best_row_verdict({k: v[0] for k, v in r1.items()}, row,
                                         lambda other: diff(r1[row], r1[other])[1], noise(own))
        return Claim(claim, paper_text, ours, verdict_, why + note)

    if (window := ablations.get("window")) is not None:
        rows.append(best_row_claim(window, ("xi=1.0", "xi=1"), "ξ = 1.0 (whole windows) is best",
                                   "T2V R@1 49.3 (ξ 0.2) … 60.4 (ξ 1.0) (Table A2)", " (EasyOCR tracks)"))
    if (window_gt := ablations.get("window_gt")) is not None:
        rows.append(best_row_claim(window_gt, ("xi=1.0", "xi=1"), "ξ = 1.0 is best, on ground-truth tracks",
                                   "T2V R@1 49.3 (ξ 0.2) … 60.4 (ξ 1.0) (Table A2, TextVR's Kwai OCR)",
                                   " (ground-truth tracks: frame-exact time spans)"))
    if (tau := ablations.get("tau")) is not None:
        rows.append(best_row_claim(tau, ("tau=1", "tau=1.0"), "Text-condition alone works best at τ = 1 on TextVR",
                                   "T2V R@1 46.6 at τ = 1, 31–37 elsewhere (Table A5)",
                                   " (TextVR's τ = 1 row is an outlier even in the paper: its R@5/R@10 do not stand out)"))

    if complexity is not None:
        rows.extend(cost_claims(complexity))
    table = pd.DataFrame([dataclasses.asdict(r) for r in rows])
    if single_seed and len(table):  # no seed spread: every difference counts, so say so
        table["why"] = table["why"] + "; single seed: no noise estimate"
    return table


def fusion_claims(stat: Callable, diff: Callable, tcd_sd: float) -> list[Claim]:
    """Does a learned model add anything to the string match, and does TCD still beat the best baseline once both
    have it? (Late fusion, weights chosen on validation videos: `tcd.lexical.evaluate_fusion`.) A fused variant
    whose seeds all gave the same R@1 borrows TCD's seed sd: identical seeds on 96 captions are not no noise."""
    def fused(variant: str) -> tuple[float, float] | None:
        got = stat(variant)
        return None if got is None else (got[0], got[1] if got[1] > 0 else tcd_sd)

    shown = {v: stat(v) for v in ("tcd+lexical", "clip4clip_wocr+lexical")}   # the measured sd, 0 included
    borrowed = [v for v, got in shown.items() if got and got[1] == 0]
    note = f"; {', '.join(borrowed)}: every seed gave the same R@1, so the margin uses TCD's sd" if borrowed else ""
    tcd_f, floor, base_f = fused("tcd+lexical"), stat("lexical"), fused("clip4clip_wocr+lexical")
    rows = []
    if tcd_f and floor:
        d, margin = diff(tcd_f, floor)
        rows.append(Claim("TCD adds to plain string matching (late fusion)", "not reported by the paper",
                          f"T2V R@1: TCD+BM25 {_pm(*shown['tcd+lexical'])} vs BM25 alone {floor[0]:.1f}",
                          verdict(d, margin, +1), "fusion weight chosen per seed on validation videos held out of "
                          f"training, never on test; noise margin {margin:.1f}" + note))
    if tcd_f and base_f:
        d, margin = diff(tcd_f, base_f)
        rows.append(Claim("TCD beats the best baseline when both are fused with string matching",
                          "not reported by the paper", f"T2V R@1: TCD+BM25 {_pm(*shown['tcd+lexical'])} vs "
                          f"CLIP4Clip+window-OCR+BM25 {_pm(*shown['clip4clip_wocr+lexical'])}", verdict(d, margin, +1),
                          f"the same fusion and validation for both; noise margin {margin:.1f}" + note))
    return rows


def why_summary(kinds: pd.DataFrame, levers: pd.DataFrame | None, model: str = "tcd", floor: str = "lexical",
                n_videos: int = 0) -> str:
    """The report's reading of :func:`tcd.study.breakdown` and the ``levers`` grid, in words: on which kinds of
    caption the string match leads the model and the reverse, and what each lever did against the ``base`` row
    (beyond the noise margin 2·√(sd² + sd_base²) or not), and, given the gallery's ``n_videos``, how the trained
    variants fare against chance on captions that quote no scene text."""
    lines = []
    for by, part in kinds.groupby("by", sort=False):
        r1 = part.pivot_table(index=["kind", "captions"], columns="variant", values="R@1")
        if model not in r1 or floor not in r1:
            continue
        lead = {name: [f"{k} ({n} captions: {r[floor]:.1f} vs {r[model]:.1f})" for (k, n), r in r1.iterrows() if test(r)]
                for name, test in (("string match", lambda r: r[floor] > r[model]),
                                   (model, lambda r: r[model] > r[floor]))}
        lines.append(f"- By {by}: the string match leads {model} on {', '.join(lead['string match']) or 'no kind'}; "
                     f"{model} leads on {', '.join(lead[model]) or 'no kind'} (T2V R@1, BM25 vs {model}).")
    no_text = kinds[(kinds.by == "caption") & (kinds.kind == "no scene text")]
    if len(no_text) and n_videos:
        r1 = ", ".join(f"{r.variant} {r['R@1']:.1f}" for _, r in no_text.iterrows() if is_trained(r.variant))
        lines.append(f"- Captions that quote no scene text ({int(no_text.captions.iloc[0])}) can only be matched by "
                     f"what the video shows: T2V R@1 {r1}, against {100 / n_videos:.1f} by chance.")
    if levers is not None and "base" in set(levers.row):
        rows = levers.set_index("row")
        base, base_sd = rows.loc["base", "t2v_R@1"], rows.loc["base", "t2v_R@1_sd"]
        for row, r in rows.drop(index="base").iterrows():
            d, margin = r["t2v_R@1"] - base, 2.0 * float(np.hypot(r["t2v_R@1_sd"], base_sd))
            effect = {"agrees": "helps", "differs": "hurts", "inconclusive": "no measurable effect"}[verdict(d, margin, +1)]
            lines.append(f"- Lever `{row}`: T2V R@1 {r['t2v_R@1']:.1f} vs base {base:.1f} ({d:+.1f}, noise margin "
                         f"{margin:.1f}): {effect}.")
    return "\n".join(lines)


# ---- Table A1: the complexity table and the cost claims ------------------------------------------------------

# The committed paper-scale benchmarks (reports/bench/<name>.json, run by hand, see reports/README.md): their
# columns as the complexity table names them. The train_step columns are GPU seconds.
BENCH_COLUMNS = {
    "complexity_clip-b32": {"gflops": "gflops_clip_b32", "gmacs_per_video": "gmacs_per_video_clip_b32",
                            "params": "params_clip_b32", "word_tokens": "word_tokens",
                            "gmacs_per_word_token": "gmacs_per_word_token"},
    "train_step_clip-b32": {"step_seconds": "gpu_step_seconds_clip_b32", "videos_per_s": "gpu_videos_per_s_clip_b32",
                            "device": "gpu_device"},
    "train_step_clip-b32_finetune-text": {"step_seconds": "gpu_step_seconds_clip_b32_finetune_text"},
}
# Variants measured by `tcd bench` only, never trained (rows of their own when a benchmark has them), and the
# paper's row each stands for.
BENCH_ONLY = {"starvr_paper": "starvr"}
STUDY_COLUMNS = ["variant", "video_tokens", "ocr_tokens", "params", "trainable_params", "gflops"]


def read_bench(bench_dir: str | Path, name: str) -> pd.DataFrame:
    """reports/bench/<name>.json with its columns renamed (BENCH_COLUMNS; NaN where an older file lacks one), plus
    its token counts; empty when the file does not exist. train_step rows timed on a CPU are dropped."""
    columns = BENCH_COLUMNS[name]
    path = Path(bench_dir) / f"{name}.json"
    table = pd.DataFrame(json.loads(path.read_text())) if path.exists() else pd.DataFrame(columns=["variant"])
    if name.startswith("train_step") and "device" in table:
        table = table[~table.device.astype(str).str.startswith("cpu")]
    keep = ["variant", *columns.values()] + (["video_tokens", "ocr_tokens"] if name.startswith("complexity") else [])
    return table.rename(columns=columns).reindex(columns=keep)


def complexity_report(flops: list[dict] | pd.DataFrame, bench_dir: str | Path, summaries: pd.DataFrame | None = None,
                      main: pd.DataFrame | None = None) -> pd.DataFrame:
    """Table A1 as the report shows it and `claims_table` reads it: one row per variant of the study (`flops`:
    `tcd.complexity.complexity_table` at the study's preset) plus the bench-only variants a benchmark has
    (starvr_paper); seconds per epoch (mean of `summaries`, the runs' train_summary.json), R@1 (`main`), the
    committed paper-scale benchmarks (BENCH_COLUMNS), and the paper's numbers."""
    study = pd.DataFrame(flops).reindex(columns=STUDY_COLUMNS)
    bench = {name: read_bench(bench_dir, name) for name in BENCH_COLUMNS}
    measured = set().union(*(set(b.variant) for b in bench.values()))
    extra = [v for v in BENCH_ONLY if v in measured and v not in set(study.variant)]
    table = pd.concat([study, pd.DataFrame({"variant": extra})], ignore_index=True) if extra else study
    if summaries is not None and len(summaries):
        table = table.merge(summaries.groupby("variant", as_index=False).seconds_per_epoch.mean(), on="variant", how="left")
    if main is not None:
        table = table.merge(main[["variant", "t2v_R@1", "v2t_R@1"]], on="variant", how="left")
    for name, b in bench.items():
        tokens = b.set_index("variant")[["video_tokens", "ocr_tokens"]] if name.startswith("complexity") else None
        table = table.merge(b.drop(columns=["video_tokens", "ocr_tokens"], errors="ignore"), on="variant", how="left")
        if tokens is not None:   # bench-only rows take their token counts from the benchmark
            for column in ("video_tokens", "ocr_tokens"):
                table[column] = table[column].fillna(table.variant.map(tokens[column]))
    paper_row = table.variant.map(lambda v: BENCH_ONLY.get(v, v))
    table["paper_gflops_b16"] = paper_row.map(lambda v: paper.COMPLEXITY.get(v, {}).get("gflops_b16"))
    table["paper_t2v_R@1"] = paper_row.map(lambda v: paper.T2V_TEXTVR.get(v, {}).get("R@1"))
    return table


PAPER_STARVR = "a space-time ViT-B/16 on 4 frames and a DistilBERT run on each OCR word"


def _padding_note(get: Callable[[str, str], float], ratio_needed: float | None) -> str:
    """Why starvr_paper's numbers are a lower bound: its words are the shortest possible (see tcd.complexity)."""
    tokens, per_token = get("starvr_paper", "word_tokens"), get("starvr_paper", "gmacs_per_word_token")
    if math.isnan(tokens) or math.isnan(per_token):
        return "its OCR words are the shortest possible, so this is a lower bound"
    note = (f"every OCR word here is {tokens:.0f} tokens, the shortest case, while TextVR pads all words to the batch's "
            f"longest, each extra token adding {per_token:.1f} GMACs per video: a lower bound")
    if ratio_needed is not None:
        missing = ratio_needed * get("tcd", "gmacs_per_video_clip_b32") - get("starvr_paper", "gmacs_per_video_clip_b32")
        if missing > 0:
            note += f"; the paper's {ratio_needed:.1f}× needs words padded to ~{tokens + missing / per_token:.0f} tokens"
    return note


def cost_claims(complexity: pd.DataFrame) -> list[Claim]:
    """Table A1's two cost claims, judged on StarVR with its own encoders (`starvr_paper`) against TCD at clip-b32;
    our `starvr` shares TCD's encoders, so without starvr_paper numbers they are 'not comparable' / 'not measured'.
    A ratio of 3× or more agrees; below it they are inconclusive, since starvr_paper's words are the shortest case."""
    c = complexity.set_index("variant")
    if "tcd" not in c.index or not {"starvr", "starvr_paper"} & set(c.index):
        return []

    def get(variant: str, column: str) -> float:
        value = c.loc[variant, column] if variant in c.index and column in c.columns else np.nan
        return float(value) if pd.notna(value) else math.nan

    claims = []
    paper_ratio = paper.COMPLEXITY["starvr"]["gflops_b16"] / paper.COMPLEXITY["tcd"]["gflops_b16"]
    claim, paper_text = "TCD needs about 6× fewer FLOPs than StarVR", \
        f"{paper.COMPLEXITY['starvr']['gflops_b16']} G vs {paper.COMPLEXITY['tcd']['gflops_b16']} G at batch 16: {paper_ratio:.1f}× (Table A1)"
    if not math.isnan(ratio := get("starvr_paper", "gflops_clip_b32") / get("tcd", "gflops_clip_b32")):
        claims.append(Claim(
            claim, paper_text,
            f"StarVR with TextVR's encoders / TCD = {ratio:.2f}× (clip-b32, batch 16: {get('starvr_paper', 'gmacs_per_video_clip_b32'):.1f} "
            f"vs {get('tcd', 'gmacs_per_video_clip_b32'):.1f} GMACs per video)",
            "agrees" if ratio >= 3 else "inconclusive",
            f"starvr_paper is StarVR as TextVR's code builds it ({PAPER_STARVR}), counted like TCD; "
            + _padding_note(get, paper_ratio)))
    else:
        column = "gflops_clip_b32" if not math.isnan(get("starvr", "gflops_clip_b32") + get("tcd", "gflops_clip_b32")) else "gflops"
        ours = get("starvr", column) / get("tcd", column)
        claims.append(Claim(
            claim, paper_text, "—" if math.isnan(ours) else f"our StarVR / TCD = {ours:.2f}× ({column}, batch 16)",
            "not comparable",
            f"our StarVR shares TCD's ViT-B/32 and text tower, so its 200 words cost only short text-tower passes; the "
            f"paper's StarVR runs {PAPER_STARVR}: `tcd bench complexity --preset clip-b32` adds that row (starvr_paper)"))

    claim = "TCD trains far cheaper than StarVR"
    paper_text = "StarVR 4×3090 × 76.3 h = 305 GPU-hours (bs 16) vs TCD 1×3090 × 8.5 h (bs 42): 36× (Table A1)"
    step, tuned = "gpu_step_seconds_clip_b32", "gpu_step_seconds_clip_b32_finetune_text"
    if not math.isnan(ratio := get("starvr_paper", step) / get("tcd", step)):
        tuned_ratio = get("starvr_paper", tuned) / get("tcd", tuned)
        tuned_text = "" if math.isnan(tuned_ratio) else f"; {tuned_ratio:.2f}× with the text towers fine-tuned"
        claims.append(Claim(
            claim, paper_text,
            f"StarVR with TextVR's encoders / TCD seconds per training step = {ratio:.2f}× (clip-b32, batch 16, "
            f"{c.loc['tcd', 'gpu_device']}{tuned_text})",
            "agrees" if ratio >= 3 else "inconclusive",
            "measured per step with `tcd bench train` on one GPU, so the paper's unprinted epoch counts and its GPU "
            "counts drop out; " + _padding_note(get, None)))
    else:
        ours = get("starvr", step) / get("tcd", step)
        claims.append(Claim(
            claim, paper_text,
            "—" if math.isnan(ours) else f"our StarVR (TCD's encoders) / TCD = {ours:.2f}× per step: not comparable",
            "not measured",
            "needs a GPU run of `tcd bench train --preset clip-b32` (its default variants include starvr_paper, StarVR "
            "with TextVR's encoders), committed as reports/bench/train_step_clip-b32.json"))
    return claims


def changes_since(previous: dict, main: pd.DataFrame, claims: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Before -> after against an earlier run's record (``reports/history/<date>.json``): T2V R@1 per variant
    (the earlier sd was a population sd) and the verdict of each claim, marking those that changed."""
    now = main.set_index("variant")
    numbers = pd.DataFrame([{"variant": v, "before": old["t2v_R@1"], "after": float(now.loc[v, "t2v_R@1"]),
                             "after_sd": float(now.loc[v, "t2v_R@1_sd"])}
                            for v, old in previous["main"].items() if v in now.index])
    if len(numbers):
        numbers["change"] = numbers.after - numbers.before
    verdicts = claims.set_index("claim").verdict
    rows = [{"claim": c, "before": previous["verdicts"].get(c, "—"), "after": verdicts.get(c, "—")}
            for c in dict.fromkeys([*previous["verdicts"], *verdicts.index])]
    table = pd.DataFrame(rows)
    table["changed"] = table.before != table.after
    return numbers, table
