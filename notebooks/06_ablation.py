# %% [markdown]
# # 06 · One ablation grid
#
# Each ablation of the paper is a named grid in `params.yaml` (`ablations.grids.<name>`): a row is a
# set of overrides of the study's knobs, trained and evaluated on `ablations.variant` (TCD) for every
# seed in `ablations.seeds`, with the same data, encoders and training loop as the main comparison.
# DVC runs this notebook once per grid (`dvc.yaml`, stage `ablation`), so a grid is re-run only when
# its own rows or the knobs it depends on change.
# A row that changes nothing (`all`, `xi=1.0`, `easyocr`) *is* the main comparison's TCD run: for the
# seeds the train stage ran, its checkpoint is evaluated rather than trained again (training is
# deterministic per seed; the `trained_in` column of the runs table says which run each row is).
# Every run keeps each test caption's and video's rank (`ranks.npz` beside its checkpoint): the report's
# verdicts bootstrap over those captions (`tcd.bootstrap`).
#
# | grid | paper | what changes |
# |---|---|---|
# | `window` | Table A2 | window scale ξ of the window-OCR captioner (EasyOCR tracks) |
# | `window_gt` | Table A2 | the same on the corpus's ground-truth tracks (frame-exact time spans) |
# | `modules` | Table A4 | CTCD (vs plain cross-attention), co-attention, HSC |
# | `tau` | Table A5 | τ of the text-condition, with the other modules off |
# | `ocr_source` | — | EasyOCR tracks vs ground-truth tracks; λ of HSC |

# %% tags=["parameters"]
params_file = "params.yaml"  # the study's knobs; DVC tracks the sections this stage reads
ablation = "window"  # a key of ablations.grids in params.yaml

# %%
from pathlib import Path

import pandas as pd
import torch

from tcd import paper, viz
from tcd.config import load_params
from tcd.study import ablation_rows, ablation_run_dir, main_comparison_run, mean_sd, run_experiment

params = load_params(params_file)
torch.set_num_threads(params.train.threads or torch.get_num_threads())
rows = ablation_rows(params_file, ablation)
reports = Path(params.paths.reports)
pd.DataFrame({row: params.ablations.grids[ablation][row] or {"(the main TCD configuration)": ""} for row in rows}).T.fillna("")

# %%
runs = []
for row, row_params in rows.items():
    for seed in params.ablations.seeds:
        out_dir = ablation_run_dir(params.paths.work, ablation, row, seed)   # also keeps the run's ranks.npz
        trained = main_comparison_run(params_file, row_params, seed)
        result = run_experiment(row_params, seed, out_dir, trained=trained)
        runs.append({"row": row, **result})
        how = f"reused from {trained}" if trained else f"{result['train_seconds']:.0f} s"
        print(f"{row:>14} seed {seed}: T2V R@1 {result['t2v_R@1']:.1f}  V2T R@1 {result['v2t_R@1']:.1f}  ({how})")
runs = pd.DataFrame(runs)

# %%
table = mean_sd(runs, "row")
(reports / "tables" / "ablations").mkdir(parents=True, exist_ok=True)
table.to_csv(reports / "tables" / "ablations" / f"{ablation}.csv", index=False)
runs.to_csv(reports / "tables" / "ablations" / f"{ablation}_runs.csv", index=False)
table.round(1)

# %% [markdown]
# Where the grid sweeps a number (ξ, τ), its curve with the paper's TextVR numbers dashed; otherwise R@1 per row.

# %%
sweeps = {"window": ("windows.xi", "window scale ξ", {xi: v[0] for xi, v in paper.WINDOW_XI.items()}),
          "window_gt": ("windows.xi", "window scale ξ", {xi: v[0] for xi, v in paper.WINDOW_XI.items()}),
          "tau": ("model.tau", "text-condition τ", {tau: v[0] for tau, v in paper.TAU_TEXTVR.items()})}
names = {"window": "window scale ξ, EasyOCR tracks", "window_gt": "window scale ξ, ground-truth tracks",
         "tau": "τ of the text-condition, other modules off", "modules": "TCD's modules (Table A4)",
         "ocr_source": "OCR source and λ of HSC"}
name = names.get(ablation, ablation)
seeds = sorted(runs.seed.unique())
ran = f"mean of {len(seeds)} seeds ({', '.join(map(str, seeds))}); whiskers: sd" if len(seeds) > 1 else f"one seed ({seeds[0]})"
if ablation in sweeps:
    key, label, paper_r1 = sweeps[ablation]
    runs[label] = [params.ablations.grids[ablation][row][key] for row in runs.row]
    fig = viz.curve_figure(runs, x=label, y="t2v_R@1", paper=paper_r1, logx=ablation == "tau", ylabel="T2V R@1 (%)",
                           paper_label="paper (TextVR)", title=f"T2V R@1 against {name}")
else:
    long = runs.melt(id_vars=["row", "seed"], value_vars=["t2v_R@1", "v2t_R@1"], var_name="direction", value_name="R@1")
    long["direction"] = long.direction.map({"t2v_R@1": "text→video", "v2t_R@1": "video→text"})
    fig = viz.metric_bars(long, x="row", y="R@1", hue="direction", xlabel=f"grid row ({ablation})", ylabel="R@1 (%)",
                          title=f"{name}: R@1 per row\n{ran}")
viz.save(fig, reports / "figures" / "ablations" / f"{ablation}.png");
