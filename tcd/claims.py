"""The paper's claims against ours: Table A3's shape with the paper's numbers, and the claims table.

Inputs are the study's outputs (per-variant metrics, ablation tables from :func:`tcd.study.mean_sd`,
the complexity table); only the report stage reads this module, so refining a verdict never re-runs
training.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from tcd import paper
from tcd.eval import METRIC_KEYS
from tcd.study import DIRECTIONS


def main_comparison(metrics: dict[str, dict]) -> pd.DataFrame:
    """Table A3's shape: one row per variant, T2V and V2T mean ± sd over seeds, with the paper's TextVR
    numbers beside ours where the appendix prints them (NaN elsewhere)."""
    rows = []
    for variant, m in metrics.items():
        row = {"variant": variant, "seeds": len(m["seeds"])}
        for d in DIRECTIONS:
            for k in METRIC_KEYS:
                row[f"{d}_{k}"] = m[d][k]
                row[f"{d}_{k}_sd"] = m["std"][d][k]
        for i, k in enumerate(METRIC_KEYS):
            row[f"paper_v2t_{k}"] = paper.V2T_TEXTVR.get(variant, (np.nan,) * 5)[i]
            row[f"paper_t2v_{k}"] = paper.T2V_TEXTVR.get(variant, {}).get(k, np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


@dataclasses.dataclass(frozen=True)
class Claim:
    claim: str
    paper: str
    ours: str
    verdict: str  # agrees | differs | inconclusive | not testable here
    why: str


def verdict(difference: float, margin: float, paper_sign: int) -> str:
    """'agrees' when our difference has the paper's sign and exceeds ``margin`` (the seed noise);
    'differs' when it exceeds the margin with the other sign; otherwise 'inconclusive'."""
    if abs(difference) <= margin:
        return "inconclusive"
    return "agrees" if np.sign(difference) == paper_sign else "differs"


def _pm(mean: float, sd: float) -> str:
    return f"{mean:.1f} ± {sd:.1f}" if sd else f"{mean:.1f}"


def claims_table(main: pd.DataFrame, ablations: dict[str, pd.DataFrame], complexity: pd.DataFrame | None) -> pd.DataFrame:
    """Each claim of the paper -> what it measured -> what we measured -> verdict, with the reason.

    ``main``: :func:`main_comparison`; ``ablations``: name -> :func:`mean_sd` table (column ``row``);
    ``complexity``: one row per variant with ``gflops`` (optionally ``gflops_clip_b32``, and the GPU step times of
    ``tcd bench train``: ``gpu_step_seconds_clip_b32``, ``gpu_step_seconds_clip_b32_finetune_text``, ``gpu_device``).
    Noise: a difference counts only beyond 2 standard errors of a difference, 2·√(sd_a² + sd_b²), using
    the seeds' sd of each side; ablation rows use their own seed sd when the grid ran several seeds and
    borrow the sd of TCD's main-comparison seeds when it ran one.
    Missing inputs make a claim 'not testable here' rather than a guess.
    """
    by_variant = main.set_index("variant")
    tcd_sd = float(by_variant.loc["tcd", "t2v_R@1_sd"]) if "tcd" in by_variant.index else 0.0

    def stat(variant: str, metric: str = "t2v_R@1") -> tuple[float, float] | None:
        if variant not in by_variant.index:
            return None
        return float(by_variant.loc[variant, metric]), float(by_variant.loc[variant, f"{metric}_sd"])

    def diff(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
        return a[0] - b[0], 2.0 * float(np.hypot(a[1], b[1]))

    single_seed = bool((main.seeds < 2).any())
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
        others = [(v, stat(v)) for v in by_variant.index if v != "tcd"]
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
        """Claim 'row `target` is the best row': agrees if it is, inconclusive if the best beats it within the noise."""
        r1, own = row_stats(table)
        best = max(r1, key=lambda row: r1[row][0])
        row = next((row for row in r1 if row in target), None)
        if row is None:
            return Claim(claim, paper_text, "—", "not testable here", f"the grid has no row {target[0]}")
        d, margin = diff(r1[best], r1[row])
        return Claim(claim, paper_text, "T2V R@1 " + ", ".join(f"{k} {shown(v, own)}" for k, v in r1.items()),
                     "agrees" if best == row else ("inconclusive" if d <= margin else "differs"),
                     f"best row {best}; a gap within the noise margin {margin:.1f}, from {noise(own)}, counts as inconclusive{note}")

    if (window := ablations.get("window")) is not None:
        rows.append(best_row_claim(window, ("xi=1.0", "xi=1"), "ξ = 1.0 (whole windows) is best",
                                   "T2V R@1 49.3 (ξ 0.2) … 60.4 (ξ 1.0) (Table A2)"))
    if (tau := ablations.get("tau")) is not None:
        rows.append(best_row_claim(tau, ("tau=1", "tau=1.0"), "Text-condition alone works best at τ = 1 on TextVR",
                                   "T2V R@1 46.6 at τ = 1, 31–37 elsewhere (Table A5)",
                                   " (TextVR's τ = 1 row is an outlier even in the paper: its R@5/R@10 do not stand out)"))

    if complexity is not None and {"starvr", "tcd"} <= set(complexity.variant):
        c = complexity.set_index("variant")
        column = "gflops_clip_b32" if "gflops_clip_b32" in c.columns and c["gflops_clip_b32"].notna().all() else "gflops"
        ratio = c.loc["starvr", column] / c.loc["tcd", column]
        rows.append(Claim("TCD needs about 6× fewer FLOPs than StarVR", "395.2 G vs 61.8 G at batch 16: 6.4× (Table A1)",
                          f"StarVR / TCD = {ratio:.2f}× ({column}, batch 16)",
                          "agrees" if ratio >= 3 else "differs",
                          "here both share the same vision and text encoders, so StarVR's 200 words cost only short "
                          "text-tower passes; the paper's StarVR runs a ViT-B/16 video encoder and a DistilBERT per word"))
        if "gpu_step_seconds_clip_b32" in c and c.loc[["starvr", "tcd"], "gpu_step_seconds_clip_b32"].notna().all():
            step = c["gpu_step_seconds_clip_b32"]
            tuned = c.get("gpu_step_seconds_clip_b32_finetune_text")
            tuned_text = (f"; {tuned['starvr'] / tuned['tcd']:.2f}× with the text tower fine-tuned"
                          if tuned is not None and tuned[["starvr", "tcd"]].notna().all() else "")
            ratio = step["starvr"] / step["tcd"]
            rows.append(Claim(
                "TCD trains far cheaper than StarVR",
                "StarVR 4×3090 × 76.3 h = 305 GPU-hours (bs 16) vs TCD 1×3090 × 8.5 h (bs 42): 36× (Table A1)",
                f"StarVR / TCD seconds per training step = {ratio:.2f}× (clip-b32, batch 16, {c.loc['tcd', 'gpu_device']}"
                f"{tuned_text})",
                "agrees" if ratio >= 3 else "differs",
                "measured per step with `tcd bench train` on one GPU, so the paper's unprinted epoch counts and its GPU "
                "counts drop out; our StarVR shares TCD's ViT-B/32 and text tower, so its extra cost is only the 200 short "
                "word passes and the fusion layer (the paper's StarVR: a ViT-B/16 and a DistilBERT per word)"))
    table = pd.DataFrame([dataclasses.asdict(r) for r in rows])
    if single_seed and len(table):  # no seed spread: every difference counts, so say so
        table["why"] = table["why"] + "; single seed: no noise estimate"
    return table
