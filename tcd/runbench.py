"""``tcd bench run`` and ``tcd bench synth``: the seconds a study spends where no other bench looks.

A study run (train one seed, score the test gallery) is timed as the train and ablation stages run it, several in
one process: the first encodes every frozen tower's inputs (the frozen MiniLM's captions, a frozen vision tower's
frames) and the later ones reuse those memos, as a grid's rows and seeds do. The corpus generator is timed by
process count on a fresh folder each time.
"""
from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path


def forget_memos() -> None:
    """Empty the process's shared memos of frozen towers' features: the next model encodes everything again."""
    from tcd.model.encoders import SHARED_FRAME_MEMOS, SHARED_MEMOS

    SHARED_MEMOS.clear()
    SHARED_FRAME_MEMOS.clear()


def _check_inputs(params) -> None:
    from tcd.config import pretrain_checkpoint
    from tcd.data import captions_path, frame_cache_path

    needed = [path(params, split) for path in (frame_cache_path, captions_path) for split in ("train", "test")]
    if params.model.vision_init == "pretrained":
        needed.append(pretrain_checkpoint(params))
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        raise FileNotFoundError(f"tcd bench run: {', '.join(missing)} missing: it times the study's own runs on its "
                                "frames, captions and pretrained tower (dvc repro captions pretrain)")


def run_rows(params_file: str | Path, variants: list[str], runs: int, seed: int = 0) -> list[dict]:
    """Per variant, ``runs`` study runs (train ``seed`` + score the test gallery) in one process, the memos
    emptied before the first: one row per run with its seconds, training seconds and T2V R@1 (equal across the
    runs: the memos change the time, never the numbers)."""
    from tcd.config import load_params
    from tcd.study import run_experiment

    rows = []
    for variant in variants:
        params = load_params(params_file, {"model.variant": variant})
        _check_inputs(params)
        forget_memos()
        for run in range(runs):
            with tempfile.TemporaryDirectory() as out:
                start = time.perf_counter()
                result = run_experiment(params, seed, out)
                rows.append(dict(variant=variant, run=run + 1, memos="cold" if run == 0 else "warm",
                                 seconds=round(time.perf_counter() - start, 2),
                                 train_seconds=result["train_seconds"], t2v_r1=round(result["t2v_R@1"], 2)))
    return rows


def synth_rows(params_file: str | Path, workers: list[int], train_videos: int | None = None,
               test_videos: int | None = None) -> list[dict]:
    """Seconds to generate a SynthTextVR corpus (the params' ``corpus`` section, at ``train_videos`` +
    ``test_videos`` if given) with each process count, and whether its files' bytes equal the first count's."""
    from tcd.config import load_params
    from tcd.corpus.synth import generate
    from tcd.search.index import file_sha256

    cfg = load_params(params_file).corpus
    cfg = dataclasses.replace(cfg, n_train_videos=cfg.n_train_videos if train_videos is None else train_videos,
                              n_test_videos=cfg.n_test_videos if test_videos is None else test_videos)
    videos, rows, first = cfg.n_train_videos + cfg.n_test_videos, [], None
    for count in workers:
        with tempfile.TemporaryDirectory() as root:
            start = time.perf_counter()
            generate(cfg, root, progress=False, workers=count)
            seconds = time.perf_counter() - start
            files = {str(p.relative_to(root)): file_sha256(p) for p in sorted(Path(root).rglob("*")) if p.is_file()}
        first = files if first is None else first
        rows.append(dict(workers=count, videos=videos, seconds=round(seconds, 2), videos_per_s=round(videos / seconds, 2),
                         same_bytes=files == first))
    return rows
