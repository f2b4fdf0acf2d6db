"""The ``tcd`` command.

    tcd data synth [--params params.yaml]            build the SynthTextVR corpus at paths.corpus
    tcd notebook NAME [-p key=value ...] [--tag T]   run notebooks/NAME.ipynb through papermill (every DVC stage)
    tcd bench complexity [--preset P] [--variants V ...] [--json]   tokens, parameters and FLOPs per variant
    tcd bench train [--preset P] [--variants V ...] [--json]        seconds per training step (CPU or GPU)
      (at --preset clip-b32 the default variants include starvr_paper: StarVR with TextVR's own encoders)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _data_synth(args: argparse.Namespace) -> None:
    from tcd.config import load_params
    from tcd.corpus.synth import generate

    params = load_params(args.params)
    root = Path(args.root or params.paths.corpus)
    summary = generate(params.corpus, root, progress=not args.quiet)
    print(json.dumps(summary, indent=1, default=str))


def _notebook(args: argparse.Namespace) -> None:
    from tcd.notebook import parse_parameters, run_notebook

    parameters = {"params_file": args.params, **parse_parameters(args.parameter)}
    path = run_notebook(args.name, parameters, tag=args.tag, out_dir=args.out_dir, html=not args.no_html,
                        report_html=args.report_html)
    print(path)


def _print_rows(rows: list[dict], as_json: bool) -> None:
    import pandas as pd

    print(json.dumps(rows, indent=1) if as_json else pd.DataFrame(rows).to_string(index=False))


def _bench_variants(args: argparse.Namespace) -> tuple[str, ...]:
    """--variants, else the family plus, at paper scale, StarVR with its own encoders (starvr_paper)."""
    from tcd.complexity import BENCH_VARIANTS
    from tcd.model import VARIANTS

    return tuple(args.variants or (BENCH_VARIANTS if args.preset == "clip-b32" else VARIANTS))


def _bench_complexity(args: argparse.Namespace) -> None:
    from tcd.complexity import complexity_table

    _print_rows(complexity_table(args.preset, batch_size=args.batch_size, variants=_bench_variants(args)), args.json)


def _bench_train(args: argparse.Namespace) -> None:
    from tcd.complexity import train_step_table

    rows = train_step_table(args.preset, batch_size=args.batch_size, num_frames=args.num_frames,
                            variants=_bench_variants(args), steps=args.steps, warmup=args.warmup,
                            device=args.device, freeze_text=not args.finetune_text)
    _print_rows(rows, args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tcd", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="corpora").add_subparsers(dest="data_command", required=True)
    synth = data.add_parser("synth", help="generate the SynthTextVR corpus (deterministic from corpus.seed)")
    synth.add_argument("--params", default="params.yaml")
    synth.add_argument("--root", help="output root (default: paths.corpus from params)")
    synth.add_argument("--quiet", action="store_true")
    synth.set_defaults(func=_data_synth)

    notebook = commands.add_parser("notebook", help="run a study notebook through papermill")
    notebook.add_argument("name", help="notebook name under notebooks/, without .ipynb")
    notebook.add_argument("-p", "--parameter", action="append", default=[], metavar="KEY=VALUE")
    notebook.add_argument("--params", default="params.yaml", help="passed to the notebook as params_file")
    notebook.add_argument("--tag", help="name of the executed copy (default: the notebook name)")
    notebook.add_argument("--out-dir", default="reports/notebooks")
    notebook.add_argument("--no-html", action="store_true", help="skip the full HTML export beside the executed copy")
    notebook.add_argument("--report-html", help="also write an HTML export without code cells here")
    notebook.set_defaults(func=_notebook)

    bench = commands.add_parser("bench", help="benchmarks that print numbers").add_subparsers(dest="bench_command", required=True)
    complexity = bench.add_parser("complexity", help="tokens, parameters and FLOPs (torch.utils.flop_counter) per variant")
    complexity.add_argument("--preset", default="tiny", choices=["tiny", "clip-b32"])
    complexity.add_argument("--variants", nargs="+", metavar="VARIANT",
                            help="default: every variant, plus starvr_paper with --preset clip-b32")
    complexity.add_argument("--batch-size", type=int, default=16)
    complexity.add_argument("--json", action="store_true")
    complexity.set_defaults(func=_bench_complexity)
    train = bench.add_parser("train", help="seconds per training step (the study's own step) per variant")
    train.add_argument("--preset", default="tiny", choices=["tiny", "clip-b32"])
    train.add_argument("--variants", nargs="+", metavar="VARIANT",
                       help="default: every variant, plus starvr_paper with --preset clip-b32")
    train.add_argument("--batch-size", type=int, default=16)
    train.add_argument("--num-frames", type=int, default=12)
    train.add_argument("--steps", type=int, default=10, help="timed steps (the median is reported)")
    train.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    train.add_argument("--device", help="cuda or cpu (default: cuda when present)")
    train.add_argument("--finetune-text", action="store_true", help="train the text tower too (model.freeze_text: false)")
    train.add_argument("--json", action="store_true")
    train.set_defaults(func=_bench_train)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    sys.exit(main())
