"""The `tcd data` subcommands for real corpora (leaderboard, validate, import, convert), registered by tcd.cli.

Mistakes in what was asked, or inputs that do not fit together, end in one line per problem and exit status 2
(tcd.errors.UsageError); counted skips are printed as warnings on stderr; `validate` exits 1 when it found errors.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tcd.errors import UsageError


def _leaderboard(args: argparse.Namespace) -> None:
    from tcd.corpus.leaderboard import export_leaderboard

    try:
        summary = export_leaderboard(args.root, args.sim, args.out)
    except (ValueError, OSError) as err:  # LeaderboardError, a missing or malformed file
        raise UsageError(str(err)) from err
    print(json.dumps(summary))


def _default_num_frames(params_file: str) -> int:
    """frames.num_frames of the params file when there is one, else TextVR's 12."""
    from tcd.config import load_params

    return load_params(params_file).frames.num_frames if Path(params_file).exists() else 12


def _validate(args: argparse.Namespace) -> None:
    from tcd.corpus.validate import format_report, validate_corpus

    num_frames = args.num_frames or _default_num_frames(args.params)
    report = validate_corpus(args.root, num_frames=num_frames, workers=args.workers)
    print(json.dumps(report, indent=1, ensure_ascii=False) if args.json else format_report(report))
    if report["errors"]:
        raise SystemExit(1)


def _import(args: argparse.Namespace) -> None:
    from tcd.corpus.folder import import_folder

    try:
        summary = import_folder(args.videos_dir, args.captions, args.out_root, domain=args.domain, copy=args.copy)
    except (ValueError, OSError) as err:  # FolderImportError lists every problem, one per line
        raise UsageError(str(err)) from err
    _print_summary(summary)


def _print_summary(summary: dict) -> None:
    """The summary as JSON on stdout, and each counted skip on stderr too, where a person sees it."""
    print(json.dumps(summary, indent=1))
    for warning in summary.get("warnings", []):
        print(f"tcd: warning: {warning}", file=sys.stderr)


def _convert(args: argparse.Namespace) -> None:
    from tcd.corpus.msrvtt import convert_msrvtt
    from tcd.corpus.vitevqa import convert_vitevqa

    try:
        if args.kind == "msrvtt":
            summary = convert_msrvtt(args.src, args.out, videos=args.videos, copy=args.copy, split=args.split)
        else:
            summary = convert_vitevqa(args.src, args.out, task=args.task, statements=args.statements,
                                      videos=args.videos, copy=args.copy)
    except (ValueError, OSError) as err:  # ConvertError lists every problem, one per line
        raise UsageError(str(err)) from err
    _print_summary(summary)


def _add_convert(data: argparse._SubParsersAction) -> None:
    kinds = data.add_parser("convert", help="MSR-VTT or M4-ViteVQA converted to the TextVR layout"
                            ).add_subparsers(dest="kind", required=True)
    msrvtt = kinds.add_parser("msrvtt", help="MSR-VTT 1k-A from CLIP4Clip's MSRVTT_data.json and csv files")
    vite = kinds.add_parser("m4vitevqa", help="M4-ViteVQA QA pairs as statements (a statements file, else rules)")
    vite.add_argument("--statements", help="JSONL of {question_id, statement} (default: the rule-based fallback)")
    vite.add_argument("--task", default="t1s1", choices=["t1s1", "t1s2", "t2"], help="which train/test files")
    vite.add_argument("--videos", help="the folder of <video_id>.mp4 files, if not video/ under SRC")
    msrvtt.add_argument("--split", default="9k", choices=["9k", "7k"], help="training list MSRVTT_train.<split>.csv")
    msrvtt.add_argument("--videos", action="append", help="a folder of <video_id>.mp4 files, if not the usual one "
                        "under SRC (repeat it for the official TrainValVideo/ and TestVideo/)")
    for p in (msrvtt, vite):
        p.add_argument("src", help="the downloaded dataset's folder")
        p.add_argument("out", help="the new corpus root, new or empty (set paths.corpus to it)")
        p.add_argument("--copy", action="store_true", help="copy the videos (default: symlink them)")
        p.set_defaults(func=_convert)


def register(data: argparse._SubParsersAction) -> None:
    """Add leaderboard, validate, import and convert to the `tcd data` subparsers."""
    board = data.add_parser("leaderboard", help="the test split's matrix in TextVR_test_rand.json order (CodaLab)")
    board.add_argument("root", help="corpus root holding TextVR_test.json and TextVR_test_rand.json")
    board.add_argument("sim", help="captions x videos .npy in TextVR_test.json order (the evaluate stage's)")
    board.add_argument("out", help="where to write the float32 .npy to submit")
    board.set_defaults(func=_leaderboard)

    validate = data.add_parser("validate", help="check annotations, videos and OCR files of a corpus root")
    validate.add_argument("root", help="a TextVR-layout root (paths.corpus)")
    validate.add_argument("--json", action="store_true", help="print the report as JSON")
    validate.add_argument("--num-frames", type=int, help="frames sampled per video (default: frames.num_frames "
                                                         "of --params, else 12)")
    validate.add_argument("--params", default="params.yaml", help="the study's params file")
    validate.add_argument("--workers", type=int, help="processes (default: one per CPU)")
    validate.set_defaults(func=_validate)

    imp = data.add_parser("import", help="a TextVR-layout corpus from a folder of videos and a captions file")
    imp.add_argument("videos_dir", help="folder of .mp4 files (.MP4, or .webm PyAV decodes; subfolders allowed)")
    imp.add_argument("captions", help="CSV (header video,caption[,split]) or JSONL ({video, caption, split})")
    imp.add_argument("out_root", help="the new corpus root (set paths.corpus to it)")
    imp.add_argument("--domain", default="User", help="the domain folder under Videos/ (default: User)")
    imp.add_argument("--copy", action="store_true", help="copy the videos (default: symlink them)")
    imp.set_defaults(func=_import)
    _add_convert(data)
