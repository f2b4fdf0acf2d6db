"""tcd: the TCD reproduction study's command line.

  tcd data synth [--params params.yaml]               build the SynthTextVR corpus at paths.corpus
  tcd data frames [--params P] [--splits S ...]       the corpus stage's frame cache; torchrun shards it by rank
  tcd data ocr [--params P] [--splits S ...]          the ocr stage's EasyOCR tracks and tables; torchrun shards it by rank
  tcd data validate ROOT [--json]                     check a corpus root's annotations, videos and OCR files
  tcd data leaderboard ROOT SIM.npy OUT.npy           the test matrix in TextVR_test_rand.json order (CodaLab)
  tcd data import VIDEOS_DIR CAPTIONS OUT_ROOT        a TextVR-layout corpus from a folder of videos + captions
  tcd data convert {msrvtt,m4vitevqa} SRC OUT         MSR-VTT or M4-ViteVQA converted to the TextVR layout
  tcd index ROOT --checkpoint CKPT --out INDEX [--add]  encode a TextVR-layout root's videos once, for search
  tcd search INDEX "QUERY" [-k 10] [--json]           the best videos for a query, each explained (README: search)
  tcd notebook NAME [-p KEY=VALUE ...] [--tag T]      run notebooks/NAME.py through papermill (every DVC stage)
  tcd summary                                         each variant's headline metrics and the claims' verdicts
  tcd train [--variant V] [--seed S] [--out-dir D]    one training run; `torchrun --nproc_per_node K -m tcd.cli train` for DDP
  tcd bench complexity [--preset P] [--variants V ...] [--json]   tokens, parameters and FLOPs per variant
  tcd bench train [--preset P] [--variants V ...] [--vision CKPT [--vision-tuning T]] [--anchor] [--json]
                                                                   seconds, FLOPs, MFU per training step
  tcd bench score [--n 2727 | --sizes 1000,2727] [--json]          seconds to score N captions x N videos
  tcd bench data [--videos 48] [--loader-workers 0,2] [--json]     frames/s decoded into the cache, served to training
  tcd bench ocr [--max-sides 320,480,640,960,1280] [--json]        EasyOCR word recall and frames/s at 720p by ocr.max_side
  tcd bench search [--videos 10000,100000] [--json]               two-stage search: queries/s, exhaustive top-10 kept per K
  tcd bench run [--variants V ...] [--runs 3] [--json]             seconds per study run (train + score), memos cold, warm
  tcd bench synth [--workers 1,2] [--json]                         seconds to generate SynthTextVR per process count
    (at --preset clip-b32 the default variants include starvr_paper: StarVR with TextVR's own encoders)

Mistakes (an unknown notebook, params file, key or variant) end in one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tcd.errors import UsageError


def _data_synth(args: argparse.Namespace) -> None:
    from tcd.config import load_params
    from tcd.corpus.synth import generate

    params = load_params(args.params)
    root = Path(args.root or params.paths.corpus)
    summary = generate(params.corpus, root, progress=not args.quiet, workers=args.workers)
    print(json.dumps(summary, indent=1, default=str))


def _notebook(args: argparse.Namespace) -> None:
    from tcd.notebook import available, parse_parameters, run_notebook

    if args.name not in available():
        raise UsageError(f"no notebook {args.name!r} in notebooks/; the notebooks are: {', '.join(available())}")
    try:
        parameters = {"params_file": args.params, **parse_parameters(args.parameter)}
    except ValueError as err:
        raise UsageError(f"{err} (write -p KEY=VALUE)") from err
    _check_notebook_parameters(parameters)
    from papermill.exceptions import PapermillExecutionError

    try:
        path = run_notebook(args.name, parameters, tag=args.tag, out_dir=args.out_dir, html=not args.no_html,
                            report_html=args.report_html)
    except PapermillExecutionError as err:   # the stage's own one-line message; the traceback stays in the copy
        executed = Path(args.out_dir) / f"{args.tag or args.name}.ipynb"
        raise UsageError(f"stage notebook {args.name} stopped in cell {err.exec_count}: {err.ename}: "
                         f"{str(err.evalue).strip()} (traceback in {executed})") from None
    print(path)


def _check_notebook_parameters(parameters: dict) -> None:
    """The params file and the -p values the stage notebooks know (variant, ablation), checked before a kernel
    starts: a typo fails here in one line, not minutes later inside the notebook."""
    from tcd.config import load_params
    from tcd.model.config import VARIANTS

    params = load_params(parameters["params_file"])
    variant, ablation = parameters.get("variant"), parameters.get("ablation")
    if variant is not None and variant not in VARIANTS:
        raise UsageError(f"-p variant={variant}: the variants are {', '.join(VARIANTS)}")
    if ablation is not None and ablation not in params.ablations.grids:
        raise UsageError(f"-p ablation={ablation}: the grids of {parameters['params_file']} are "
                         f"{', '.join(params.ablations.grids)}")


def _summary(args: argparse.Namespace) -> None:
    """What `make study` ends with: each variant's headline metrics and the claims' verdicts, a screen long."""
    import csv

    from tcd.config import load_params

    reports = Path(load_params(args.params).paths.reports)
    files = sorted((reports / "metrics").glob("*.json"))
    if not files:
        raise UsageError(f"no metrics under {reports / 'metrics'}: run the study first (make study)")
    print(f"{'variant':<24}{'T2V R@1':>14}{'V2T R@1':>14}{'T2V MnR':>9}  seeds")
    for path in files:
        m = json.loads(path.read_text())
        if "t2v" not in m:
            continue
        pm = lambda d: f"{m[d]['R@1']:.1f}" + (f" ± {m[f'{d}_R@1_sd']:.1f}" if m.get(f"{d}_R@1_sd") is not None else "")
        print(f"{path.stem:<24}{pm('t2v'):>14}{pm('v2t'):>14}{m['t2v']['MnR']:>9.1f}  {m['seeds']}")
    claims = reports / "tables" / "claims.csv"
    if claims.exists():
        print("\nThe paper's claims (reports/report.html says why):")
        for row in csv.DictReader(claims.open()):
            print(f"  {row['verdict']:<15}{row['claim']}")


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

    import torch

    from tcd.complexity import run_anchor

    rows = train_step_table(args.preset, batch_size=args.batch_size, num_frames=args.num_frames,
                            variants=_bench_variants(args), steps=args.steps, warmup=args.warmup,
                            device=args.device, freeze_text=not args.finetune_text, **_bench_vision(args))
    if args.anchor:   # the anchor's numbers beside ours, from the same process
        device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        rows.append(dict(variant="anchor", **run_anchor(device, args.anchor_script, args.batch_size)))
    _print_rows(rows, args.json)


def _bench_vision(args: argparse.Namespace) -> dict:
    """--vision (a pretrain checkpoint) and --vision-tuning as model overrides; none: a tower from scratch."""
    if args.vision_tuning and not args.vision:
        raise SystemExit("tcd bench train: --vision-tuning needs --vision (a tower from scratch always trains)")
    return {k: v for k, v in (("vision", args.vision), ("vision_tuning", args.vision_tuning)) if v}


def _all_variants() -> tuple[str, ...]:
    from tcd.model.config import VARIANTS

    return (*VARIANTS, "starvr_paper")


def _bench_score(args: argparse.Namespace) -> None:
    from tcd.complexity import score_curve

    sizes = [int(n) for n in args.sizes.split(",")] if args.sizes else [args.n]
    rows = score_curve(sizes, args.device, variant=args.variant, preset=args.preset, num_frames=args.num_frames,
                       query_chunk=args.query_chunk, video_chunk=args.video_chunk, repeats=args.repeats,
                       warmup=args.warmup, precision=args.precision)
    _print_rows(rows, args.json)


def _bench_data(args: argparse.Namespace) -> None:
    """Decode rows when the params' corpus is present (else none, said on stderr), then the serve rows."""
    from tcd.config import load_params
    from tcd.databench import decode_rows, serve_rows

    import torch

    params = load_params(args.params)
    ints = lambda text: [int(w) for w in text.split(",")]
    num_frames, size = args.num_frames or params.frames.num_frames, args.size or params.frames.size
    rows = []
    if (Path(params.paths.corpus) / "TextVR_test.json").exists():
        rows += decode_rows(params.paths.corpus, args.videos, num_frames, size, params.frames.fit,
                            ints(args.decode_workers), args.repeats, args.warmup)
    else:
        print(f"tcd bench data: no corpus at {params.paths.corpus}: decoding not measured", file=sys.stderr)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    rows += serve_rows(args.serve_videos, num_frames, size, args.batch_size, ints(args.loader_workers), device,
                       args.repeats, args.warmup)
    _print_rows(rows, args.json)


def _bench_ocr(args: argparse.Namespace) -> None:
    from tcd.ocrbench import ocr_bench

    rows = ocr_bench([int(w) for w in args.max_sides.split(",")], corpus=args.corpus, videos=args.videos,
                     seconds=args.seconds, width=args.width, height=args.height, text_scale=args.text_scale,
                     ocr_fps=args.ocr_fps, warmup=args.warmup, device=args.device, batch_size=args.batch_size)
    _print_rows(rows, args.json)


def _bench_run(args: argparse.Namespace) -> None:
    from tcd.runbench import run_rows

    _print_rows(run_rows(args.params, args.variants, args.runs, args.seed), args.json)


def _bench_synth(args: argparse.Namespace) -> None:
    from tcd.runbench import synth_rows

    rows = synth_rows(args.params, [int(w) for w in args.workers.split(",")], args.train_videos, args.test_videos)
    _print_rows(rows, args.json)


def _data_frames(args: argparse.Namespace) -> None:
    """The corpus stage's frame cache for each split; under torchrun each rank decodes its share of the videos."""
    import torch.distributed as dist

    from tcd.config import load_params
    from tcd.corpus.textvr import load_split
    from tcd.data import frame_cache_path
    from tcd.distributed import init_from_env, rank_and_world
    from tcd.video import build_frame_cache

    params = load_params(args.params)
    distributed = init_from_env()
    try:
        summaries = {split: build_frame_cache(params.paths.corpus, load_split(params.paths.corpus, split),
                                              params.frames.num_frames, params.frames.size,
                                              frame_cache_path(params, split), progress=not args.quiet,
                                              fit=params.frames.fit, workers=params.frames.workers)
                     for split in args.splits}
        rank = rank_and_world()[0]
    finally:
        if distributed:
            dist.destroy_process_group()
    if rank == 0:
        print(json.dumps(summaries, indent=1))


def _data_ocr(args: argparse.Namespace) -> None:
    """The ocr stage (tracks, runs, quality, timing); under torchrun each rank OCRs its share, rank 0 writes the
    tables. On GPUs each rank reads on its LOCAL_RANK-th device."""
    import torch
    import torch.distributed as dist

    from tcd.config import load_params
    from tcd.distributed import init_from_env, rank_and_world
    from tcd.ocr import EasyOcrReader, ocr_stage

    params = load_params(args.params)
    distributed = init_from_env()
    try:
        torch.set_num_threads(params.train.threads or torch.get_num_threads())
        reader = EasyOcrReader(batch_size=params.ocr.batch_size, max_side=params.ocr.max_side)
        stage = ocr_stage(params, reader, 1 if reader.gpu else params.ocr.workers, splits=tuple(args.splits))
        rank = rank_and_world()[0]
    finally:
        if distributed:
            dist.destroy_process_group()
    if rank == 0:
        print(json.dumps({"quality": {k: round(float(v), 4) for k, v in stage["overall"].items()},
                          "timing": stage["timing"]}, indent=1))


def _train(args: argparse.Namespace) -> None:
    """The train notebook's `train_run` for one variant and seed; under torchrun, one rank of a DDP run."""
    import os

    import torch
    import torch.distributed as dist

    from tcd.config import load_params
    from tcd.data import load_split_data
    from tcd.train import train_run

    params = load_params(args.params, {"model.variant": args.variant})
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:   # torchrun set RANK, WORLD_SIZE, MASTER_ADDR/PORT, LOCAL_RANK
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    torch.set_num_threads(params.train.threads or torch.get_num_threads())
    out_dir = Path(args.out_dir or Path(params.paths.work) / "models" / params.model.variant / f"seed{args.seed}")
    try:
        _, _, summary = train_run(params, args.seed, load_split_data(params, "train"), out_dir, progress=not args.quiet)
    finally:
        if distributed:
            dist.destroy_process_group()
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(summary))


def _index(args: argparse.Namespace) -> None:
    from tcd.config import load_params
    from tcd.search.index import SearchIndexError, build_index, settings_from_params

    params = load_params(args.params)
    try:
        summary = build_index(args.root, args.checkpoint, args.out, settings_from_params(params), tracks=args.tracks,
                              add=args.add, batch_size=args.batch_size, device=args.device, progress=not args.quiet)
    except SearchIndexError as err:
        raise UsageError(str(err)) from None
    print(json.dumps(summary, indent=1))


def _search(args: argparse.Namespace) -> None:
    from tcd.config import load_params
    from tcd.search import SearchIndexError, fusion_weight, open_index, search
    from tcd.search.query import checkpoint_seed

    params = load_params(args.params)
    if not args.query.strip():
        raise UsageError("empty query: say what the video shows or what is written in it")
    try:
        index = open_index(args.index, device=args.device or "cpu")
        weight = args.weight
        if weight is None:
            ckpt = index.manifest["checkpoint"]["path"]
            table = args.fusion_table or Path(params.paths.reports) / "tables" / "fusion" / f"{index.model.cfg.variant}.csv"
            weight = fusion_weight(table, checkpoint_seed(ckpt))
        if not 0.0 <= weight <= 1.0:
            raise UsageError(f"--weight {weight}: the string match's weight is in [0, 1]")
        thumbs = None if args.no_thumbnails else Path(args.thumbnails or Path(args.index) / "thumbnails")
        hits = search(index, [args.query], k=args.k, weight=weight, k_shortlist=args.shortlist or params.search.shortlist,
                      fuzzy=params.search.fuzzy, thumbnails=thumbs, thumbnail_frames=params.search.thumbnail_frames)[0]
    except SearchIndexError as err:
        raise UsageError(str(err)) from None
    if args.json:
        print(json.dumps([h.to_json() for h in hits], indent=1))
        return
    print(f"{len(index)} videos, string-match weight {weight}")
    for n, h in enumerate(hits, 1):
        parts = "  ".join(f"{k} {v:.3f}" for k, v in h.parts.items() if k != "string_weight")
        w = h.window
        print(f"{n:>3}. {h.score:+.3f}  {h.video}\n       {parts}\n       window {w['start']:.2f}-{w['end']:.2f} s "
              f"({w['matched_by']}): {w['caption']!r}" + (f"\n       {h.thumbnail}" if h.thumbnail else ""))


def _bench_search(args: argparse.Namespace) -> None:
    from tcd.search.bench import search_bench

    rows = search_bench([int(v) for v in args.videos.split(",")], [int(k) for k in args.shortlists.split(",")],
                        queries=args.queries, num_frames=args.num_frames, threads=args.threads, device=args.device,
                        weight=args.weight, seed=args.seed, checkpoint=args.checkpoint)
    _print_rows(rows, args.json)


def build_parser() -> argparse.ArgumentParser:
    from tcd import __version__

    parser = argparse.ArgumentParser(prog="tcd", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"tcd {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="corpora").add_subparsers(dest="data_command", required=True)
    synth = data.add_parser("synth", help="generate the SynthTextVR corpus (deterministic from corpus.seed)")
    synth.add_argument("--params", default="params.yaml", help="the study's params file (its corpus: section)")
    synth.add_argument("--root", help="output root (default: paths.corpus from params)")
    synth.add_argument("--quiet", action="store_true", help="no progress bar")
    synth.add_argument("--workers", type=int, help="processes rendering videos (default: one per core; same bytes)")
    synth.set_defaults(func=_data_synth)
    from tcd.corpus.commands import register as register_corpus_commands  # leaderboard, validate, import, convert

    register_corpus_commands(data)
    for name, func, what in (("frames", _data_frames, "decode the frame cache (the corpus stage's)"),
                             ("ocr", _data_ocr, "EasyOCR tracks and the ocr stage's tables")):
        cmd = data.add_parser(name, help=f"{what}; under torchrun each rank takes a share of the videos")
        cmd.add_argument("--params", default="params.yaml", help="the study's params file")
        cmd.add_argument("--splits", nargs="+", default=["train", "test"], choices=["train", "test"])
        if name == "frames":
            cmd.add_argument("--quiet", action="store_true", help="no progress bar")
        cmd.set_defaults(func=func)

    index = commands.add_parser("index", help="encode a TextVR-layout root's videos once, for `tcd search`")
    index.add_argument("root", help="a TextVR-layout root (SynthTextVR, TextVR, a `tcd data import` output)")
    index.add_argument("--checkpoint", required=True, help="a trained model, e.g. artifacts/models/tcd/seed0/model.pt")
    index.add_argument("--out", required=True, help="the index folder")
    index.add_argument("--add", action="store_true", help="append new videos to an existing index (same checkpoint)")
    index.add_argument("--tracks", help="folder of Kwai-schema OCR tracks (default: ROOT/Kwai_VideoOCR, else EasyOCR)")
    index.add_argument("--params", default="params.yaml", help="frames, windows, ocr and search knobs")
    index.add_argument("--batch-size", type=int, default=16, help="videos encoded together")
    index.add_argument("--device", help="cuda or cpu (default: cuda when present)")
    index.add_argument("--quiet", action="store_true", help="no progress bar")
    index.set_defaults(func=_index)

    search = commands.add_parser("search", help="rank an index's videos for a query; every hit explained")
    search.add_argument("index", help="an index folder (`tcd index`)")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=10, help="hits shown")
    search.add_argument("--json", action="store_true", help='a list of {"video","score","parts","window","thumbnail"}')
    search.add_argument("--weight", type=float, help="string-match weight in [0, 1] (default: the fusion stage's)")
    search.add_argument("--fusion-table", help="default: <paths.reports>/tables/fusion/<variant>.csv")
    search.add_argument("--shortlist", type=int, help="K of the first stage (default: search.shortlist)")
    search.add_argument("--thumbnails", help="folder of thumbnail strips (default: INDEX/thumbnails)")
    search.add_argument("--no-thumbnails", action="store_true")
    search.add_argument("--params", default="params.yaml", help="search knobs and paths.reports")
    search.add_argument("--device", help="cpu (default) or cuda")
    search.set_defaults(func=_search)

    notebook = commands.add_parser("notebook", help="run a study notebook through papermill")
    notebook.add_argument("name", help="notebook name under notebooks/, without .py (e.g. 03_train)")
    notebook.add_argument("-p", "--parameter", action="append", default=[], metavar="KEY=VALUE",
                          help="a value for the notebook's parameters cell (e.g. -p variant=tcd); repeatable")
    notebook.add_argument("--params", default="params.yaml", help="the study's params file, passed as params_file")
    notebook.add_argument("--tag", help="name of the executed copy (default: the notebook name)")
    notebook.add_argument("--out-dir", default="reports/notebooks", help="where the executed copy and its HTML go")
    notebook.add_argument("--no-html", action="store_true", help="skip the full HTML export beside the executed copy")
    notebook.add_argument("--report-html", help="also write an HTML export without code cells here")
    notebook.set_defaults(func=_notebook)

    summary = commands.add_parser("summary", help="each variant's headline metrics and the claims' verdicts")
    summary.add_argument("--params", default="params.yaml", help="the study's params file (its paths: section)")
    summary.set_defaults(func=_summary)

    train_cmd = commands.add_parser("train", help="train one variant and seed (the train stage's run); torchrun-ready")
    train_cmd.add_argument("--params", default="params.yaml", help="the study's params file")
    train_cmd.add_argument("--variant", help="model.variant (default: the params file's)")
    train_cmd.add_argument("--seed", type=int, default=0)
    train_cmd.add_argument("--out-dir", help="default: <paths.work>/models/<variant>/seed<seed>")
    train_cmd.add_argument("--quiet", action="store_true", help="no progress bar")
    train_cmd.set_defaults(func=_train)

    bench = commands.add_parser("bench", help="benchmarks that print numbers").add_subparsers(dest="bench_command", required=True)
    complexity = bench.add_parser("complexity", help="tokens, parameters and FLOPs (torch.utils.flop_counter) per variant")
    complexity.add_argument("--preset", default="tiny", choices=["tiny", "clip-b32"])
    complexity.add_argument("--variants", nargs="+", metavar="VARIANT", choices=_all_variants(),
                            help="default: every variant, plus starvr_paper with --preset clip-b32")
    complexity.add_argument("--batch-size", type=int, default=16)
    complexity.add_argument("--json", action="store_true")
    complexity.set_defaults(func=_bench_complexity)
    train = bench.add_parser("train", help="seconds per training step (the study's own step) per variant")
    train.add_argument("--preset", default="tiny", choices=["tiny", "clip-b32"])
    train.add_argument("--variants", nargs="+", metavar="VARIANT", choices=_all_variants(),
                       help="default: every variant, plus starvr_paper with --preset clip-b32")
    train.add_argument("--batch-size", type=int, default=16)
    train.add_argument("--num-frames", type=int, default=12)
    train.add_argument("--steps", type=int, default=10, help="timed steps (the median is reported)")
    train.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    train.add_argument("--device", help="cuda or cpu (default: cuda when present)")
    train.add_argument("--finetune-text", action="store_true", help="train the text tower too (model.freeze_text: false)")
    train.add_argument("--vision", metavar="CHECKPOINT",
                       help="start the tiny vision tower from a pretrain checkpoint (artifacts/pretrain/model.pt)")
    train.add_argument("--vision-tuning", choices=["frozen", "finetune"],
                       help="with --vision: keep its backbone frozen (default, as model.vision_tuning) or train it")
    train.add_argument("--anchor", action="store_true", help="also run ../shared/bench/gpu_clip_anchor.py here (CUDA only)")
    train.add_argument("--anchor-script", help="path of the anchor script (default: shared/bench/gpu_clip_anchor.py)")
    train.add_argument("--json", action="store_true")
    train.set_defaults(func=_bench_train)
    score = bench.add_parser("score", help="seconds to score N captions x N videos (all pairs, as the evaluate stage)")
    score.add_argument("--n", type=int, default=2727, help="captions = videos (TextVR's test split: 2727)")
    score.add_argument("--variant", default="tcd", choices=_all_variants()[:-1])
    score.add_argument("--preset", default="tiny", choices=["tiny", "clip-b32"])
    score.add_argument("--num-frames", type=int, default=12)
    score.add_argument("--device", help="cuda or cpu (default: cuda when present)")
    score.add_argument("--sizes", help="comma-separated N values, a scaling curve (e.g. 1000,2727,5000)")
    score.add_argument("--query-chunk", type=int, default=0, help="queries per block; 0 = from free memory")
    score.add_argument("--video-chunk", type=int, default=0, help="videos per block; 0 = from free memory")
    score.add_argument("--precision", default="fp32", choices=["fp32", "bf16"], help="bf16 autocast (CUDA only)")
    score.add_argument("--repeats", type=int, default=3, help="timed repeats (the median is reported)")
    score.add_argument("--warmup", type=int, default=1, help="untimed repeats first")
    score.add_argument("--json", action="store_true")
    score.set_defaults(func=_bench_score)
    data_bench = bench.add_parser("data", help="frames/s decoded into the frame cache and served by the DataLoader")
    data_bench.add_argument("--params", default="params.yaml", help="its paths.corpus and frames: section")
    data_bench.add_argument("--videos", type=int, default=48, help="corpus test videos decoded per repeat")
    data_bench.add_argument("--decode-workers", default="1,2", help="comma-separated process counts")
    data_bench.add_argument("--serve-videos", type=int, default=512, help="rows of the synthetic cache served")
    data_bench.add_argument("--loader-workers", default="0,2", help="comma-separated DataLoader worker counts")
    data_bench.add_argument("--batch-size", type=int, default=32)
    data_bench.add_argument("--num-frames", type=int, help="default: frames.num_frames")
    data_bench.add_argument("--size", type=int, help="default: frames.size")
    data_bench.add_argument("--device", help="where served batches go: cuda or cpu (default: cuda when present)")
    data_bench.add_argument("--repeats", type=int, default=3, help="timed repeats (the median is reported)")
    data_bench.add_argument("--warmup", type=int, default=1, help="untimed repeats first")
    data_bench.add_argument("--json", action="store_true")
    data_bench.set_defaults(func=_bench_data)
    run_bench = bench.add_parser("run", help="seconds per study run (train one seed + score the test gallery), the "
                                             "first with the frozen towers' memos empty, the next reusing them")
    run_bench.add_argument("--params", default="params.yaml", help="the study's params (its frames, captions and "
                                                                   "pretrained tower must exist)")
    run_bench.add_argument("--variants", nargs="+", default=["clip4clip", "tcd"])
    run_bench.add_argument("--runs", type=int, default=3, help="runs per variant in one process")
    run_bench.add_argument("--seed", type=int, default=0)
    run_bench.add_argument("--json", action="store_true")
    run_bench.set_defaults(func=_bench_run)
    synth_bench = bench.add_parser("synth", help="seconds to generate SynthTextVR with each process count (same bytes)")
    synth_bench.add_argument("--params", default="params.yaml", help="its corpus: section")
    synth_bench.add_argument("--workers", default="1,2", help="comma-separated process counts")
    synth_bench.add_argument("--train-videos", type=int, help="default: the params' corpus.n_train_videos")
    synth_bench.add_argument("--test-videos", type=int, help="default: the params' corpus.n_test_videos")
    synth_bench.add_argument("--json", action="store_true")
    synth_bench.set_defaults(func=_bench_synth)
    ocr_bench = bench.add_parser("ocr", help="EasyOCR word recall and frames/s by ocr.max_side on 720p video")
    ocr_bench.add_argument("--max-sides", default="320,480,640,960,1280",
                           help="comma-separated longer sides for detection (0: the full frame)")
    ocr_bench.add_argument("--corpus", help="a TextVR-layout root with ground-truth tracks (default: SynthTextVR "
                                            "rendered at --width x --height for the purpose)")
    ocr_bench.add_argument("--videos", type=int, default=8, help="test videos read per max_side")
    ocr_bench.add_argument("--seconds", type=float, default=2.0, help="length of each rendered video")
    ocr_bench.add_argument("--width", type=int, default=1280)
    ocr_bench.add_argument("--height", type=int, default=720)
    ocr_bench.add_argument("--text-scale", type=float, default=1.0,
                           help="font sizes of the rendered corpus (1: the study corpus's share of the frame)")
    ocr_bench.add_argument("--ocr-fps", type=float, default=1.0,
                           help="OCR samples per second of video (the study's ocr.fps is 2: 1 reads half the frames)")
    ocr_bench.add_argument("--batch-size", type=int, default=1, help="frames per EasyOCR call (ocr.batch_size)")
    ocr_bench.add_argument("--device", help="cuda or cpu (default: cuda when present)")
    ocr_bench.add_argument("--warmup", type=int, default=1, help="videos read untimed first (the median of the rest)")
    ocr_bench.add_argument("--json", action="store_true")
    ocr_bench.set_defaults(func=_bench_ocr)
    search_bench = bench.add_parser("search", help="two-stage search on synthetic index tensors: speed and top-10 kept")
    search_bench.add_argument("--videos", default="10000,100000", help="comma-separated index sizes")
    search_bench.add_argument("--shortlists", default="50,200,1000", help="comma-separated K values")
    search_bench.add_argument("--queries", type=int, default=20, help="queries timed per size")
    search_bench.add_argument("--num-frames", type=int, default=4, help="frames = OCR windows per video (study: 4)")
    search_bench.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    search_bench.add_argument("--weight", type=float, default=0.5, help="string-match weight of the fused ranking")
    search_bench.add_argument("--seed", type=int, default=0)
    search_bench.add_argument("--checkpoint", help="a trained TCD checkpoint for the head, with its own frame count "
                              "(--num-frames is then unused; default: a randomly initialised head)")
    search_bench.add_argument("--device", help="cpu (default) or cuda")
    search_bench.add_argument("--json", action="store_true")
    search_bench.set_defaults(func=_bench_search)
    return parser


def main(argv: list[str] | None = None) -> int:
    from tcd.config import ParamsError

    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (UsageError, ParamsError) as err:
        print(f"tcd: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
