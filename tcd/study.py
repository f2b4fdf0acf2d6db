"""The reproduction study's machinery: ablation grids, one train+evaluate run, mean ± sd over seeds.

An ablation is a named grid in ``params.yaml`` (``ablations.grids.<name>``): each row is a set of
dotted overrides of the study's params (``{"windows.xi": 0.4}``, ``{"model.hsc": false}``), run for
every seed in ``ablations.seeds`` on ``ablations.variant``. DVC runs one stage per grid (``foreach``);
the notebook ``06_ablation`` calls :func:`run_experiment` for each row and seed. The paper-vs-ours
tables built from these runs are in :mod:`tcd.claims`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tcd.bootstrap import Hits, save_ranks, saved_hits
from tcd.config import Params, ParamsError, load_params
from tcd.data import SplitData, build_captions, card_groups, load_split_data
from tcd.eval import DIRECTIONS, METRIC_KEYS, retrieval_metrics, score_gallery


def ablation_rows(params_file: str | Path, name: str) -> dict[str, Params]:
    """The rows of grid ``name``: row name -> the study's params with that row's overrides applied
    (on top of ``ablations.variant``). Every row is validated here, before any training."""
    base = load_params(params_file)
    if name not in base.ablations.grids:
        raise ParamsError(f"no ablation grid {name!r} in {params_file}; the grids are {', '.join(base.ablations.grids)}")
    rows = {}
    for row, overrides in base.ablations.grids[name].items():
        rows[row] = load_params(params_file, {"model.variant": base.ablations.variant, **(overrides or {})})
    return rows


_CAPTIONS: dict[tuple, dict[str, dict]] = {}


def _captions(params: Params, split: str) -> dict:
    """Window captions for these params' own OCR source and ξ (memoised per caption setting, so a grid's rows share
    them)."""
    key = (params.paths.corpus, params.paths.work, params.ocr.source, params.windows, params.frames.num_frames, split)
    if key not in _CAPTIONS:
        _CAPTIONS[key] = build_captions(params, split)
    return _CAPTIONS[key]


def split_data(params: Params, split: str) -> SplitData:
    """The split for these params, with window captions built for its own OCR source and ξ."""
    return load_split_data(params, split, captions=_captions(params, split))


def captions_fingerprint(documents: list[dict]) -> str:
    """A digest of the captions a run trains and is tested on (:func:`tcd.data.build_captions` documents, train and
    test): each video's windows and instance words, not the documents' settings such as ξ itself. Two grid rows with
    the same digest and no other difference see the very same inputs (ξ values that cut no OCR sample)."""
    digest = hashlib.sha256()
    for doc in documents:
        digest.update(json.dumps(doc["videos"], sort_keys=True).encode())
    return digest.hexdigest()[:16]


def ablation_run_dir(work: str | Path, grid: str, row: str, seed: int) -> Path:
    """Where an ablation row's run keeps its checkpoint (when trained here), history and ``ranks.npz``."""
    return Path(work) / "ablations" / grid / row / f"seed{seed}"


def ablation_hits(work: str | Path, grid: str, runs: pd.DataFrame) -> dict[str, Hits]:
    """row -> its :class:`tcd.bootstrap.Hits` over the seeds it ran (``runs``: the grid's ``<grid>_runs.csv``,
    columns ``row`` and ``seed``), from the ``ranks.npz`` each run saved (:func:`run_experiment`)."""
    return {row: saved_hits([ablation_run_dir(work, grid, row, int(s)) / "ranks.npz" for s in part.seed])
            for row, part in runs.groupby("row", sort=False)}


def main_comparison_run(params_file: str | Path, params: Params, seed: int) -> Path | None:
    """The train stage's run directory when it trained exactly ``params`` with ``seed``, else None.

    A grid row that changes nothing (Table A4's ``all``, ξ = 1.0, EasyOCR tracks) is the main comparison's
    run of its variant: every knob equal, same data, same seed. Training is deterministic for a seed on a
    machine (the modules grid's ``all`` row reproduced the main TCD runs to the last digit), so evaluating
    that checkpoint gives the numbers retraining would, minutes sooner. The checkpoint must exist then
    (DVC runs the train stage first); a missing one is an error, not a silent retrain.
    """
    main = load_params(params_file, {"model.variant": params.model.variant})
    if params != main or params.model.variant not in main.train.variants or seed not in main.train.seeds:
        return None
    run_dir = Path(main.paths.work) / "models" / params.model.variant / f"seed{seed}"
    if not (run_dir / "model.pt").is_file():
        raise FileNotFoundError(f"{run_dir}/model.pt missing: run the train stage first "
                                f"(dvc repro train@{params.model.variant})")
    return run_dir


def run_experiment(params: Params, seed: int, out_dir: str | Path, progress: bool = False,
                   trained: str | Path | None = None) -> dict[str, Any]:
    """Train ``params.model`` with ``seed`` and evaluate it on the test split.

    ``trained``: a run directory of the train stage holding exactly this run (`main_comparison_run`):
    its checkpoint is evaluated and its training time reported instead of training again.
    Returns one flat row: ``t2v_R@1`` ... ``v2t_MnR`` on the whole test gallery (undecodable videos scored
    -inf, :func:`tcd.eval.score_gallery`), training seconds and seconds per epoch, and
    ``trained_in`` (``out_dir``, or the reused run directory). A new checkpoint and history go to ``out_dir``, and
    always ``out_dir/ranks.npz``: each test caption's and video's rank and the captions' fingerprint
    (:func:`tcd.bootstrap.save_ranks`), which the claims' paired bootstrap reads.
    """
    from tcd.model import load_model
    from tcd.train import default_device, train_run

    test = split_data(params, "test")
    if trained is None:
        model, _, summary = train_run(params, seed, split_data(params, "train"), out_dir, progress=progress)
    else:
        model = load_model(Path(trained) / "model.pt", map_location=default_device())
        summary = json.loads((Path(trained) / "train_summary.json").read_text())
    out, caption_video = score_gallery(model, test, params.eval.query_chunk, params.eval.video_chunk)
    metrics = retrieval_metrics(out.sim.numpy(), caption_video)
    save_ranks(Path(out_dir) / "ranks.npz", out.sim.numpy(), caption_video,
               [e.video_id for e in test.gallery or test.entries],
               captions_fingerprint([_captions(params, split) for split in ("train", "test")]))
    return {
        "seed": seed,
        **{f"{d}_{k}": metrics[d][k] for d in DIRECTIONS for k in METRIC_KEYS},
        "train_seconds": summary["seconds"],
        "seconds_per_epoch": summary["seconds_per_epoch"],
        "final_loss": summary["final_loss"],
        "skipped_test_videos": len(test.skipped),
        "trained_in": str(trained if trained is not None else out_dir),
    }


def mean_sd(runs: pd.DataFrame, by: str) -> pd.DataFrame:
    """Mean and sample sd (ddof = 1; NaN for one seed, where it is undefined) of every metric column per
    ``by`` value, keeping ``by``'s order. Sample sd, as in the metrics files (:func:`tcd.eval.seed_sd`)."""
    columns = [f"{d}_{k}" for d in DIRECTIONS for k in METRIC_KEYS]
    grouped = runs.groupby(by, sort=False)[columns]
    table = grouped.mean().join(grouped.std(ddof=1).add_suffix("_sd"))
    return table.join(runs.groupby(by, sort=False).seed.count().rename("seeds")).reset_index()


def scene_text_words(caption: str) -> list[str]:
    """The words a caption quotes from the video: upper-case tokens (:func:`tcd.corpus.textvr.quoted_tokens`, SIAM,
    500FT), and after the first word, title-cased words (``Ligux``, ``Gekus Honey``: names as the sign writes them)
    and spelled-out capitals (``D E C``), but not "I"."""
    from tcd.corpus.textvr import quoted_tokens

    words = [w.strip(".,;:!?'\"()") for w in caption.split()[1:]]
    return quoted_tokens(caption) + [w for w in words if w[:1].isupper() and (w != w.upper() or len(w) == 1) and w != "I"]


def is_common_word(word: str, vocabulary: set[str]) -> bool:
    """``word`` (any case) or its singular (a trailing s / es dropped) is in ``vocabulary``."""
    w = word.lower()
    return w in vocabulary or (w.endswith("s") and w[:-1] in vocabulary) or (w.endswith("es") and w[:-2] in vocabulary)


def caption_labels(caption: str, vocabulary: set[str]) -> str:
    """What a caption asks a model to match: ``no scene text``, ``digits`` (quotes a number or code), ``a rare word``
    (a quoted word, upper- or title-cased, not a common word: a made-up or brand name that few videos show) or
    ``common words only``. ``vocabulary``: lower-case English words, the study's
    :func:`tcd.corpus.textvr.wordpiece_vocabulary` (the list the corpus's ``common_words`` statistic counts against,
    on TextVR's captions and SynthTextVR's), plurals folded (:func:`is_common_word`)."""
    if any(c.isdigit() for c in caption):
        return "digits"
    words = scene_text_words(caption)
    if any(w.isalpha() and not is_common_word(w, vocabulary) for w in words):
        return "a rare word"
    return "common words only" if words else "no scene text"


def synth_groups(corpus: str | Path, split: str = "test") -> dict[str, str] | None:
    """video id -> its SynthTextVR hard-negative group kind (``same scene``, ``same text``, ``no group``), from the
    corpus's SYNTH_CARD.json (:func:`tcd.data.card_groups`); None for a corpus without one (a real one)."""
    groups = card_groups(corpus, split)
    if groups is None:
        return None
    names = {"scene": "same scene", "text": "same text"}
    return {video: names.get(group.split("-")[1], "?") if group else "no group" for video, group in groups.items()}


def _test_caption_kinds(params: Params) -> tuple[list, list[str], np.ndarray, np.ndarray]:
    """The test split's entries, captions, each caption's video and its :func:`caption_labels` kind."""
    from tcd.corpus.textvr import captions_and_targets, load_split, wordpiece_vocabulary

    entries = load_split(params.paths.corpus, "test")
    captions, caption_video = captions_and_targets(entries)
    vocabulary = wordpiece_vocabulary()
    return entries, captions, np.asarray(caption_video), np.array([caption_labels(c, vocabulary) for c in captions])


def oracle_ladder(params: Params) -> pd.DataFrame | None:
    """T2V R@1 of the visual oracle seeing one more of each video's object attributes per rung
    (:data:`tcd.pretrain.ORACLE_LADDER`), overall and per kind of test caption (:func:`caption_labels`): how much a
    vision tower must resolve to reach a given R@1 on the captions that quote no text. None on a corpus without
    SynthTextVR's card (nothing records what its videos show)."""
    from tcd.eval import metrics_from_ranks, text_to_video_ranks
    from tcd.pretrain import ORACLE_LADDER, card_videos, visual_oracle_scores

    entries, captions, caption_video, labels = _test_caption_kinds(params)
    try:
        videos = card_videos(params.paths.corpus, "test", [e.video_id for e in entries])
    except FileNotFoundError:
        return None
    domains = [e.domain for e in entries]
    rows = []
    for rung, attributes in ORACLE_LADDER.items():
        sim = visual_oracle_scores(captions, videos, domains, attributes)
        ranks = text_to_video_ranks(sim, caption_video)
        rows.append({"oracle sees": rung, "all": metrics_from_ranks(ranks)["R@1"],
                     **{kind: metrics_from_ranks(ranks[labels == kind])["R@1"] for kind in sorted(set(labels.tolist()))}})
    return pd.DataFrame(rows).set_index("oracle sees")


def ladder_summary(ladder: pd.DataFrame, kinds: pd.DataFrame, kind: str = "no scene text") -> str:
    """The report's reading of :func:`oracle_ladder` against :func:`breakdown`'s rows: between which rungs the
    zero-shot tower and vision-only CLIP4Clip stand on the captions of ``kind``."""
    seen = kinds[(kinds.by == "caption") & (kinds.kind == kind)].set_index("variant")["R@1"]
    column = ladder[kind]

    def place(r1: float) -> str:
        above = [rung for rung, v in column.items() if v <= r1]
        below = [rung for rung, v in column.items() if v > r1]
        if not above:
            return f"below every rung, the oracle seeing the {below[0]} ({column[below[0]]:.1f}) included"
        low = f"above the oracle seeing the {above[-1]} ({column[above[-1]]:.1f})"
        return low + (f", below the one seeing the {below[0]} ({column[below[0]]:.1f})" if below else "")

    rows = [f"{v} {seen[v]:.1f}: {place(seen[v])}" for v in ("zero_shot", "clip4clip") if v in seen]
    return (f"**What vision resolves.** The visual oracle seeing one more attribute of each video's objects per rung "
            f"(a tie at the top is a miss, as in TextVR's protocol). T2V R@1 on the captions with {kind}: "
            + "; ".join(rows) + ".")


def breakdown(params: Params, variants: list[str]) -> pd.DataFrame:
    """T2V R@1 of each variant per kind of test caption (:func:`caption_labels`) and, on SynthTextVR, per kind of
    hard-negative group (:func:`synth_groups`): where string matching and the learned models each win. Reads the
    saved test matrices (``<work>/scores/<variant>/sim_seed<k>.npy``, every seed there); mean over seeds."""
    from tcd.eval import metrics_from_ranks, text_to_video_ranks

    entries, _, caption_video, labels = _test_caption_kinds(params)
    kinds = {"caption": labels.tolist()}
    if (groups := synth_groups(params.paths.corpus)) is not None:
        kinds["group"] = [groups.get(entries[v].video_id, "?") for v in caption_video]
    rows = []
    for variant in variants:
        for path in sorted((Path(params.paths.work) / "scores" / variant).glob("sim_seed*.npy")):
            ranks = text_to_video_ranks(np.load(path), caption_video)
            for by, labels in kinds.items():
                labels = np.asarray(labels)
                rows += [{"variant": variant, "by": by, "kind": kind, "captions": int((labels == kind).sum()),
                          "R@1": metrics_from_ranks(ranks[labels == kind])["R@1"]} for kind in sorted(set(labels.tolist()))]
    table = pd.DataFrame(rows).groupby(["by", "kind", "variant"], sort=False).mean().reset_index()
    return table.astype({"captions": int})
