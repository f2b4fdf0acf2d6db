"""The training loop shared by every variant: one caption per video per epoch (or every caption pair, see
``train.epoch``), in-batch negatives; the losses are read from the device every ``train.log_every`` steps.

Checkpoints: ``out_dir/model.pt`` (the final model, loadable with :func:`tcd.model.load_model`),
``out_dir/last.pt`` (model + optimiser + scheduler + RNG state after each epoch, loadable with
``weights_only=True``, so a killed run resumes where it stopped and ends with the same weights),
``out_dir/history.csv`` (one row per step; on CUDA ``videos_per_s`` times the launch, not the kernels).
Batches come through a DataLoader (`batch_loader`: ``train.loader_workers`` processes read the frame cache, pinned
memory on CUDA) serving exactly `epoch_batches`, so the losses do not depend on the worker count.
Under torchrun (`tcd train`) each rank reads its slice of every global batch, the model gathers all ranks' rows
before the loss (`tcd.distributed`: the same loss as one process), DDP averages the gradients and rank 0 writes.
:func:`train_step` is the step ``tcd bench train`` times.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from tcd.config import Params, TrainConfig, model_config
from tcd.data import SplitData
from tcd.distributed import rank_and_world, shard


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def to_model_batch(model, batch: dict) -> dict:
    """Batch from :meth:`SplitData.batch` (numpy) or a `batch_loader` (tensors, pinned on CUDA) -> tensors on the
    model's device."""
    device = next(model.parameters()).device
    out = dict(batch)
    move = lambda key: torch.as_tensor(batch[key]).to(device, non_blocking=True)   # async only from pinned memory
    out["frames"] = model.preprocess_frames(move("frames"))
    for key in ("frame_mask", "ocr_mask", "instance_mask", "instance_geometry"):
        out[key] = move(key)
    return out


class BatchError(RuntimeError):
    """A training batch could not be read (a damaged or stale frame cache, a file gone mid-run): one line naming
    the file, raised in the training process whichever process read the batch."""


class SplitBatches(torch.utils.data.Dataset):
    """Item ``(rows, queries)`` -> :meth:`SplitData.batch` with its arrays as tensors: what a loader worker reads.

    A batch that cannot be read comes back as ``{"error": message}`` instead of raising: raised in a loader worker,
    the exception would reach the training process wrapped in the worker's traceback. `checked_batch` turns it into
    a `BatchError` there."""

    def __init__(self, data: SplitData):
        self.data = data

    def __getitem__(self, item: tuple) -> dict:
        rows, queries, *word_slots = item   # word_slots: the global batch's, when a rank reads a shard of it
        try:
            batch = self.data.batch(rows, queries, *word_slots)
        except Exception as e:   # noqa: BLE001 -- any failure is reported by the training process, as one line
            videos = ", ".join(self.data.video_ids[r] for r in list(rows)[:3])
            return {"error": f"the batch of videos {videos}{', ...' if len(rows) > 3 else ''} could not be read "
                             f"({type(e).__name__}: {e}); the frame cache or captions file is damaged or stale: "
                             "re-run the corpus and captions stages (dvc repro captions)"}
        return {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in batch.items()}


def checked_batch(batch: dict) -> dict:
    """A `batch_loader` item, or the `BatchError` its reader reported instead."""
    if "error" in batch:
        raise BatchError(batch["error"])
    return batch


class EpochOrder(torch.utils.data.Sampler):
    """The current epoch's ``(rows, queries)`` batches in order; set anew each epoch while the workers persist."""

    def __init__(self, batches: list | None = None):
        super().__init__()
        self.batches = batches or []

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def _as_is(batch: dict) -> dict:
    return batch   # items are whole batches already


def batch_loader(data: SplitData, workers: int = 0, pin_memory: bool = False) -> torch.utils.data.DataLoader:
    """A DataLoader serving exactly the batches put in ``loader.sampler.batches`` (`epoch_batches`), in order, read
    by ``workers`` processes (0: this one). Its own generator leaves torch's global RNG as the plain loop left it."""
    return torch.utils.data.DataLoader(SplitBatches(data), batch_size=None, sampler=EpochOrder(), num_workers=workers,
                                       collate_fn=_as_is, pin_memory=pin_memory, persistent_workers=workers > 0,
                                       generator=torch.Generator())


class TrainingLoss(torch.nn.Module):
    """``model.training_loss`` as a forward: the call DDP wraps, so its hooks average gradients across ranks."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, batch: dict):
        return self.model.training_loss(batch)


def rank_batches(data: SplitData, batches: list, rank: int, world: int) -> list[tuple]:
    """Each global batch's slice for ``rank``, with the global batch's instance-word slots (tensors must match
    across ranks to be gathered)."""
    return [(*shard(rows, queries, rank, world), max(1, max(len(data.words[r]) for r in rows)))
            for rows, queries in batches]


def epoch_batches(data: SplitData, batch_size: int, rng: np.random.Generator,
                  epoch: str = "videos") -> list[tuple[np.ndarray, list[str]]]:
    """One epoch's batches of (video rows, their queries), as ``train.epoch`` says (last partial batch kept when it
    still has >= 2 videos, since InfoNCE needs negatives).

    videos: shuffle videos, pick one of each video's captions at random, cut into batches.
    pairs: every (caption, video) pair once, shuffled, packed by `pair_batches` so no batch holds a video twice."""
    if epoch == "pairs":
        order = rng.permutation(len(data.captions))
        rows = np.asarray(data.caption_video)
        return [(rows[b], [data.captions[i] for i in b]) for b in pair_batches(rows, order, batch_size) if len(b) >= 2]
    by_video: list[list[str]] = [[] for _ in range(len(data))]
    for caption, row in zip(data.captions, data.caption_video):
        by_video[row].append(caption)
    order = rng.permutation(len(data))
    queries = [by_video[r][rng.integers(len(by_video[r]))] for r in order]
    batches = []
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        if len(rows) >= 2:
            batches.append((rows, queries[start : start + batch_size]))
    return batches


def pair_batches(pair_video: np.ndarray, order: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Cut the pairs in ``order`` into batches of distinct videos (a repeated video would be its own false
    negative in InfoNCE): each batch takes the first pending pairs whose video it lacks; the skipped pairs stay
    pending, first in line for the next batch. Returns arrays of pair indices, every pair exactly once."""
    pending, batches = list(order), []
    while pending:
        batch, seen, skipped = [], set(), []
        for j, i in enumerate(pending):
            if pair_video[i] in seen:
                skipped.append(i)
                continue
            batch.append(i)
            seen.add(pair_video[i])
            if len(batch) == batch_size:
                skipped.extend(pending[j + 1:])
                break
        batches.append(np.asarray(batch, dtype=np.int64))
        pending = skipped
    return batches


def make_optimizer(model, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW with parameter groups: pretrained towers (a loaded CLIP vision backbone, fine-tuned pretrained text
    towers, a loaded text projection) at ``train.pretrained_lr``, the new layers at ``train.lr`` (a pretrained
    CLIP at lr 1e-3 would be destroyed); weight decay only on matrices, never on norms, biases, embeddings, clue tokens or the logit
    scale (by parameter kind, `decayed_parameters`). Fused AdamW when every parameter is on CUDA."""
    pretrained = _pretrained_prefixes(model)
    decayed = decayed_parameters(model)
    groups: dict[tuple[bool, bool], list] = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            groups.setdefault((name.startswith(pretrained), name in decayed), []).append(p)
    params = [{"params": ps, "lr": cfg.pretrained_lr if is_pretrained else cfg.lr,
               "weight_decay": cfg.weight_decay if decays else 0.0}
              for (is_pretrained, decays), ps in sorted(groups.items(), key=lambda kv: (kv[0][0], not kv[0][1]))]
    fused = all(p.is_cuda for group in params for p in group["params"])
    return torch.optim.AdamW(params, fused=fused or None)


# The weight matrices of linear maps: decayed. Everything else is not: norm weights, biases, embedding tables
# (nn.Embedding, and free Parameters such as position / type embeddings), learnable tokens, the logit scale.
_DECAYED_KINDS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def decayed_parameters(model: nn.Module) -> set[str]:
    """Names of the parameters that get weight decay, chosen by the kind of module that owns them (never by a
    name): the weights of Linear and ConvNd layers (e.g. a ViT's patch embedding, every matrix inside CTCD)."""
    names = {f"{prefix}.weight" if prefix else "weight" for prefix, module in model.named_modules()
             if isinstance(module, _DECAYED_KINDS)}
    return names & {name for name, _ in model.named_parameters()}


def _pretrained_prefixes(model) -> tuple[str, ...]:
    """Parameter-name prefixes of the towers that carry loaded weights (RetrievalModel's names)."""
    vision = getattr(model, "vision", None)
    prefixes = []
    if getattr(vision, "pretrained", False):
        prefixes.append("vision.backbone.")
        if vision.pretrained_projection:
            prefixes.append("vision.projection.")
    for name in ("text", "ocr_text"):
        if getattr(getattr(getattr(model, name, None), "tower", None), "pretrained", False):
            prefixes.append(f"{name}.tower.")
        if getattr(getattr(model, name, None), "projection_pretrained", False):
            prefixes.append(f"{name}.projection.")
    return tuple(prefixes)


def cosine_with_warmup(optimizer, warmup_steps: int, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of ``train.precision`` on ``device``: bf16 for "bf16", and for "auto" on CUDA (where
    TF32 matmuls are switched on too); None (plain fp32) otherwise, so CPU runs stay bit-reproducible."""
    if precision == "bf16" or (precision == "auto" and device.type == "cuda"):
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        return torch.bfloat16
    return None


def train_step(model, optimizer, scheduler, batch: dict, grad_clip: float, dtype: torch.dtype | None,
               loss_fn: Callable | None = None):
    """One optimisation step on a model batch: loss (under bf16 autocast when ``dtype`` says so, see
    `autocast_dtype`; ``loss_fn`` instead of ``model.training_loss``, e.g. compiled), backward, clipped gradients,
    optimiser and schedule step. No host sync. Returns (loss, the model's logs as detached tensors, gradient norm
    before clipping)."""
    device = next(model.parameters()).device
    with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
        loss, logs = (loss_fn or model.training_loss)(batch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    scheduler.step()
    return loss, logs, grad_norm


def _synced(steps: list[dict]) -> list[dict]:
    """The steps' tensor values as floats, read from the device in one transfer."""
    keys = [k for k, v in steps[0].items() if isinstance(v, torch.Tensor)]
    values = torch.stack([torch.stack([step[k].float() for k in keys]) for step in steps]).cpu().tolist()
    return [{**step, **dict(zip(keys, row))} for step, row in zip(steps, values)]


def save_resume_state(path: Path, model, optimizer, scheduler, rng: np.random.Generator, history: list[dict],
                      epoch: int) -> None:
    """Everything a killed run needs to end bit-identical, in types `torch.load(weights_only=True)` accepts:
    the model's `saved_state` (what its checkpoint keeps), the optimizer's and scheduler's state dicts, RNG states
    as tensors / strings, plain scalars."""
    numpy_state = rng.bit_generator.state
    torch.save({"model": model.saved_state(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "numpy_rng": json.dumps(numpy_state), "torch_rng": torch.get_rng_state(),
                "history": history, "epoch": epoch}, path)


def load_resume_state(path: Path, model, optimizer, scheduler, rng: np.random.Generator) -> tuple[int, list[dict]]:
    """Restore what `save_resume_state` wrote (loaded with ``weights_only=True``); returns (next epoch, history)."""
    state = torch.load(path, weights_only=True)
    model.load_saved_state(state["model"], f"{path}: a resume state of another model, delete it to train from the "
                           "start")
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    rng.bit_generator.state = json.loads(state["numpy_rng"])
    torch.set_rng_state(state["torch_rng"])
    return state["epoch"] + 1, state["history"]


def train_model(
    model,
    data: SplitData,
    cfg: TrainConfig,
    seed: int,
    out_dir: str | Path,
    progress: bool = True,
    on_epoch_end: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Train ``model`` on ``data`` for ``cfg.epochs`` epochs; returns the per-step history.

    ``on_epoch_end(epoch)`` is called after each epoch's resume state is saved (progress
    reporting; the tests use it to kill a run and check that resuming ends bit-identical).

    Deterministic for a given seed on a given machine (seeded torch + numpy generators; the
    batch order comes from a numpy generator whose state is checkpointed with the model).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    steps_per_epoch = len(epoch_batches(data, cfg.batch_size, np.random.default_rng(0), cfg.epoch))
    optimizer = make_optimizer(model, cfg)
    dtype = autocast_dtype(cfg.precision, next(model.parameters()).device)
    scheduler = cosine_with_warmup(optimizer, cfg.warmup_steps, cfg.epochs * steps_per_epoch)
    loss_fn = torch.compile(model.training_loss) if cfg.compile else None
    rank, world = rank_and_world()
    if world > 1:   # under torchrun: DDP averages the gradients; rank 0 alone writes
        loss_fn = torch.nn.parallel.DistributedDataParallel(TrainingLoss(model), find_unused_parameters=True)
    history: list[dict] = []
    start_epoch = 0
    resume_path = out_dir / "last.pt"
    if resume_path.exists():
        start_epoch, history = load_resume_state(resume_path, model, optimizer, scheduler, rng)
    loader = batch_loader(data, cfg.loader_workers, pin_memory=next(model.parameters()).is_cuda)
    model.train()
    for epoch in range(start_epoch, cfg.epochs):
        batches = epoch_batches(data, cfg.batch_size, rng, cfg.epoch)   # the same on every rank (same seed)
        loader.sampler.batches = batches if world == 1 else rank_batches(data, batches, rank, world)
        bar = tqdm(loader, total=len(batches), desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False)
        pending: list[dict] = []   # this epoch's steps; those from `done` on still hold device tensors
        done = 0
        t0 = time.perf_counter()
        for batch in bar:
            batch = checked_batch(batch)
            loss, logs, grad_norm = train_step(model, optimizer, scheduler, to_model_batch(model, batch), cfg.grad_clip,
                                               dtype, loss_fn=loss_fn)
            pending.append({"epoch": epoch, "step": len(history) + len(pending), "loss": loss.detach(), **logs,
                            "grad_norm": grad_norm, "lr": scheduler.get_last_lr()[0],
                            "videos_per_s": len(batch["queries"]) / (time.perf_counter() - t0)})
            if len(pending) % cfg.log_every == 0 or len(pending) == len(batches):
                pending[done:] = _synced(pending[done:])
                done = len(pending)
                bar.set_postfix(loss=f"{pending[-1]['loss']:.3f}")
            t0 = time.perf_counter()   # the next step's time includes waiting for its batch, not this sync
        history.extend(pending)
        if rank == 0:
            save_resume_state(resume_path, model, optimizer, scheduler, rng, history, epoch)
        if on_epoch_end is not None:
            on_epoch_end(epoch)
    model.eval()
    frame = pd.DataFrame(history)
    if rank == 0:
        model.save(out_dir / "model.pt")
        frame.to_csv(out_dir / "history.csv", index=False)
        resume_path.unlink()  # the run finished: model.pt is the artefact, the resume state is not
    return frame


def train_run(params: Params, seed: int, data: SplitData, out_dir: str | Path, progress: bool = True):
    """One run of the study: build ``params.model`` seeded with ``seed``, train it on ``data`` into ``out_dir``.

    Writes ``out_dir/train_summary.json`` (variant, seed, seconds, seconds per epoch, trainable parameters,
    final loss = mean of the last 10 steps) and returns ``(model, history, summary)``.
    """
    from tcd.model import build_model

    torch.manual_seed(seed)
    model = build_model(model_config(params)).to(default_device())
    start = time.perf_counter()
    history = train_model(model, data, params.train, seed, out_dir, progress=progress)
    seconds = time.perf_counter() - start
    summary = {"variant": params.model.variant, "seed": seed, "seconds": round(seconds, 1),
               "seconds_per_epoch": round(seconds / params.train.epochs, 2),
               "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
               "final_loss": round(float(history.loss.tail(10).mean()), 4)}
    if rank_and_world()[0] == 0:
        (Path(out_dir) / "train_summary.json").write_text(json.dumps(summary, indent=1))
    return model, history, summary
