"""Typed study parameters: one dataclass per section of ``params.yaml``, validated up front.

``params.yaml`` is the single source of truth for every knob: DVC reads its sections as stage
parameters and papermill passes the file to each notebook, which calls :func:`load_params`.
Unknown keys and wrong types fail here, before any minute of compute is spent.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tcd.model.config import ModelConfig

CARD_NAME = "SYNTH_CARD.json"   # SynthTextVR's record of what it generated (its videos' objects, groups, texts)


@dataclass(frozen=True)
class SynthConfig:
    """The SynthTextVR generator (`tcd data synth`, tcd.corpus.synth); unused for a real corpus."""

    seed: int = 0
    n_train_videos: int = 240
    n_test_videos: int = 300
    captions_per_train_video: int = 3
    seconds: float = 4.0
    fps: int = 8
    width: int = 224
    height: int = 160
    distractors_per_video: float = 2.0   # mean of a Poisson count
    text_scale: float = 1.0               # multiplies every font size
    blur: float = 0.5                     # max gaussian blur radius (px) of scene text
    occlusion_prob: float = 0.1           # chance a scene-text instance has a pole in front of it
    paraphrase_prob: float = 0.1          # chance a quote is re-cased inside a less literal template
    partial_quote_prob: float = 0.2       # chance a multi-word text is quoted by a sub-span of its words
    hard_negative_group_size: int = 3
    # Calibrated to TextVR's captions (tcd.corpus.synth.TEXTVR_CAPTIONS; README "SynthTextVR"):
    common_word_prob: float = 0.85        # chance a name word is a common English word (shared) rather than made up
    numeric_quote_prob: float = 0.3       # chance a caption quotes the digits of a text (else a digit-free text/part)
    scene_context_prob: float = 1.0       # chance a text-only caption also says where ("in a store"): TextVR's do
    scene_group_share: float = 0.3        # videos in same-scene groups (differ only in their text)
    text_group_share: float = 0.35        # videos in same-text groups (differ only visually): clips of one source
    activity_share: float = 0.46          # videos in the Activity domain (TextVR's test split: 46%)
    activity_text_prob: float = 0.04      # chance an Activity caption quotes text (TextVR's: 4%, ActivityNet-style)

    def __post_init__(self) -> None:
        if min(self.scene_group_share, self.text_group_share) < 0 or self.scene_group_share + self.text_group_share > 1:
            raise ValueError("corpus.scene_group_share and corpus.text_group_share must be >= 0 and sum to <= 1")


@dataclass(frozen=True)
class PathsConfig:
    """Where things live, relative to the repository root."""

    corpus: str = "data/SynthTextVR"  # a TextVR-layout root; real TextVR: data/TextVR
    work: str = "artifacts"  # stage outputs tracked by DVC (frame cache, OCR tracks, captions, checkpoints)
    reports: str = "reports"


@dataclass(frozen=True)
class FramesConfig:
    """The N frames per video the model sees (one per window) and their square size."""

    num_frames: int = 4
    size: int = 64
    fit: str = "squash"  # squash: plain resize to size x size | crop: CLIP's resize of the short side + centre crop
    workers: int = 2  # processes decoding the frame cache (the same bytes with any number: tested)

    def __post_init__(self) -> None:
        if self.fit not in ("squash", "crop"):
            raise ValueError(f"frames.fit={self.fit!r}: expected squash or crop")
        if self.workers < 1:
            raise ValueError(f"frames.workers must be >= 1, got {self.workers}")


@dataclass(frozen=True)
class OcrConfig:
    """Video OCR: which tracks later stages use, and how EasyOCR samples frames."""

    source: str = "easyocr"  # easyocr | provided (the corpus's own Kwai_VideoOCR tracks)
    fps: float = 2.0
    batch_size: int = 1  # frames per EasyOCR call; batching is slower on CPU, faster on CUDA
    workers: int = 2  # processes reading videos on CPU, one torch thread each; CUDA uses one process
    max_side: int = 640  # frames' longer side at most this for text detection (0: full size); `tcd bench ocr`

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"ocr.workers must be >= 1, got {self.workers}")
        if self.max_side < 0:
            raise ValueError(f"ocr.max_side must be >= 0 (0: no limit), got {self.max_side}")
        if self.source not in ("easyocr", "provided"):
            raise ValueError(f"ocr.source must be 'easyocr' or 'provided', got {self.source!r}")
        if self.fps <= 0:
            raise ValueError(f"ocr.fps must be > 0, got {self.fps}")


@dataclass(frozen=True)
class WindowsConfig:
    """Window-OCR captioner: window scale xi, caption word cap, StarVR instance-word cap."""

    xi: float = 1.0
    max_words: int = 24
    instance_words: int = 200

    def __post_init__(self) -> None:
        if not 0.0 < self.xi <= 1.0:
            raise ValueError(f"windows.xi must be in (0, 1], got {self.xi}")


@dataclass(frozen=True)
class TrainConfig:
    """The training loop; ``variants`` x ``seeds`` is the DVC matrix of training runs."""

    variants: tuple[str, ...] = ("clip4clip", "xpool", "starvr", "clip4clip_wocr", "xpool_wocr", "tcd")
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 6
    batch_size: int = 32
    lr: float = 1e-3
    pretrained_lr: float = 1e-4  # loaded towers (pretrained tiny ViT, a fine-tuned text tower); CLIP wants 1e-6 (X-Pool)
    weight_decay: float = 0.05
    warmup_steps: int = 20
    grad_clip: float = 1.0
    val_fraction: float = 0.1  # training videos held out, never trained on: the validation split (fusion weights)
    threads: int = 0  # torch CPU threads; 0 = all cores
    precision: str = "auto"  # auto: bf16 autocast (+ TF32) on CUDA, fp32 on the CPU (bit-reproducible); or bf16 | fp32
    epoch: str = "videos"  # videos: one random caption per video per epoch | pairs: every (caption, video) pair once
    compile: bool = False  # torch.compile the training loss
    log_every: int = 10  # steps between host syncs that read the losses (history.csv keeps one row per step)
    loader_workers: int = 0  # DataLoader worker processes reading batches; 0 = in the training process (same batches)

    def __post_init__(self) -> None:
        if self.batch_size < 2:
            raise ValueError("train.batch_size must be >= 2 (InfoNCE needs in-batch negatives)")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"train.val_fraction={self.val_fraction}: expected a fraction in [0, 1)")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ValueError(f"train.precision={self.precision!r}: expected auto, bf16 or fp32")
        if self.epoch not in ("videos", "pairs"):
            raise ValueError(f"train.epoch={self.epoch!r}: expected videos or pairs")
        if self.loader_workers < 0:
            raise ValueError(f"train.loader_workers must be >= 0, got {self.loader_workers}")
        if self.log_every < 1:
            raise ValueError(f"train.log_every must be >= 1, got {self.log_every}")


# The pretrain stage's held-out clips draw from generator indices from here on; its training pairs stay below.
HELDOUT_OFFSET = 10**9


@dataclass(frozen=True)
class PretrainConfig:
    """Contrastive pretraining of the tiny preset's towers (tcd.pretrain, stage `pretrain`) on generated
    clip-description pairs: what CLIP's pretraining gives the paper's models."""

    seed: int = 1000            # the clips' own seed: never SynthTextVR's videos
    clips: int = 12000          # distinct frame-description pairs (one frame of each generated clip)
    epochs: int = 24
    batch_size: int = 128
    lr: float = 1e-3
    warmup_steps: int = 50
    heldout_clips: int = 300    # generated clips never trained on, all frames: the zero-shot check its knobs are chosen by

    def __post_init__(self) -> None:
        if self.heldout_clips < 1 or self.clips >= HELDOUT_OFFSET:
            raise ValueError(f"pretrain.heldout_clips must be >= 1 and clips < {HELDOUT_OFFSET}, "
                             f"got {self.heldout_clips}, {self.clips}")
        if self.clips < self.batch_size or self.batch_size < 2:
            raise ValueError(f"pretrain.clips={self.clips} and batch_size={self.batch_size}: need clips >= batch_size >= 2")
        if self.epochs < 1:
            raise ValueError(f"pretrain.epochs must be >= 1, got {self.epochs}")


@dataclass(frozen=True)
class EvalConfig:
    query_chunk: int = 256
    video_chunk: int = 256


@dataclass(frozen=True)
class LexicalConfig:
    """The OCR string-match floor (tcd.lexical) and the trained variants late-fused with it."""

    fusion: tuple[str, ...] = ("clip4clip_wocr", "tcd")  # the best baseline and TCD; weights chosen on validation


@dataclass(frozen=True)
class SearchConfig:
    """`tcd index` / `tcd search` and the search stage (tcd.search)."""

    shortlist: int = 200          # K videos the first stage keeps for the full head (chosen with `tcd bench search`)
    fuzzy: float | None = 0.8     # string match of misread words (tcd.lexical.bm25_scores); the fusion stage uses none
    fp16: bool = True             # index tensors stored in fp16
    thumbnail_frames: int = 5     # frames per hit's thumbnail strip


@dataclass(frozen=True)
class AblationsConfig:
    """Named grids of overrides (``grids.<name>.<row>: {dotted.key: value}``), each run on ``variant``
    for every seed in ``seeds``; one DVC stage and one table per grid."""

    variant: str = "tcd"
    seeds: tuple[int, ...] = (0, 1, 2)
    grids: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # the study's grids live in params.yaml


@dataclass(frozen=True)
class Params:
    seed: int = 0
    paths: PathsConfig = field(default_factory=PathsConfig)
    corpus: SynthConfig = field(default_factory=SynthConfig)
    frames: FramesConfig = field(default_factory=FramesConfig)
    ocr: OcrConfig = field(default_factory=OcrConfig)
    windows: WindowsConfig = field(default_factory=WindowsConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    lexical: LexicalConfig = field(default_factory=LexicalConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    ablations: AblationsConfig = field(default_factory=AblationsConfig)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """Check/convert a YAML value against a dataclass field annotation (str, int, float, bool, tuples, Optional)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        (inner,) = [a for a in options if a is not type(None)]
        return _coerce(value, inner, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{where}: expected a list, got {value!r}")
        (inner, *_rest) = typing.get_args(annotation)
        return tuple(_coerce(v, inner, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeError(f"{where}: expected a mapping, got {value!r}")
        return value
    if dataclasses.is_dataclass(annotation):
        return _build(annotation, value, where)
    if annotation is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TypeError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if annotation is bool and not isinstance(value, bool):
        raise TypeError(f"{where}: expected true/false, got {value!r}")
    if annotation in (int, str) and not isinstance(value, annotation) or (annotation is int and isinstance(value, bool)):
        raise TypeError(f"{where}: expected {annotation.__name__}, got {value!r}")
    return value


def _build(cls: type, values: dict[str, Any] | None, where: str) -> Any:
    values = values or {}
    if not isinstance(values, dict):
        raise TypeError(f"{where}: expected a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise KeyError(f"{where}: unknown key(s) {unknown}; known: {sorted(names)}")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}" if where else k) for k, v in values.items()}
    return cls(**kwargs)


def set_dotted(values: dict[str, Any], dotted: str, value: Any) -> None:
    """``set_dotted(d, "model.variant", "tcd")`` sets ``d["model"]["variant"]``."""
    *parents, leaf = dotted.split(".")
    node = values
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


class ParamsError(ValueError):
    """A params file (or an override) that cannot run: the message names the file, the key and what is allowed."""


def load_params(path: str | Path = "params.yaml", overrides: dict[str, Any] | None = None) -> Params:
    """Read ``params.yaml`` (plus dotted ``overrides`` such as ``{"model.variant": "tcd"}``) into :class:`Params`.

    Everything is checked here, before any minute of compute: types, unknown keys, value ranges, every
    variant name (``train.variants``, ``ablations.variant``) and every ablation row (its overrides applied
    to the study's params must load too). Any problem is one :class:`ParamsError` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file {path} not found: pass --params PATH (the study's is params.yaml)")
    try:
        with open(path) as f:
            values = yaml.safe_load(f) or {}
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from err
    for dotted, value in (overrides or {}).items():
        if value is not None:
            set_dotted(values, dotted, value)
    params = _checked(lambda: _build(Params, values, ""), path)
    _check_variants(params, path)
    for grid, rows in params.ablations.grids.items():
        if not isinstance(rows, dict):
            raise ParamsError(f"{path}: ablations.grids.{grid} must map row names to overrides, got {rows!r}")
        for row, row_overrides in rows.items():
            _check_row(values, params.ablations.variant, row_overrides, f"ablations.grids.{grid}.{row}", path)
    return params


def _checked(build, path: Path):
    try:
        return build()
    except (KeyError, TypeError, ValueError) as err:
        message = err.args[0] if err.args else str(err)
        raise ParamsError(f"{path}: {message}") from err


def _check_variants(params: Params, path: Path) -> None:
    from tcd.model.config import VARIANTS

    for where, variant in [("train.variants", v) for v in params.train.variants] + [("ablations.variant", params.ablations.variant)]:
        if variant not in VARIANTS:
            raise ParamsError(f"{path}: {where} has {variant!r}; the variants are {', '.join(VARIANTS)}")
    for variant in params.lexical.fusion:
        if variant not in params.train.variants:
            raise ParamsError(f"{path}: lexical.fusion has {variant!r}, which train.variants does not train "
                              f"(fusion needs its checkpoints); trained: {', '.join(params.train.variants)}")
    _checked(lambda: model_config(params), path)
    if params.model.preset == "clip-b32" and params.frames.fit == "squash":   # CLIP never saw squashed frames
        raise ParamsError(f"{path}: model.preset: clip-b32 with frames.fit: squash distorts the frames CLIP was "
                          "trained on; set frames.fit: crop (CLIP's resize of the short side + centre crop)")


def _check_row(values: dict, variant: str, overrides: Any, where: str, path: Path) -> None:
    """An ablation row: dotted overrides whose result loads (validated like the study's params)."""
    if overrides is not None and not isinstance(overrides, dict):
        raise ParamsError(f"{path}: {where} must map dotted keys to values, got {overrides!r}")
    row = copy.deepcopy(values)
    for dotted, value in {"model.variant": variant, **(overrides or {})}.items():
        try:
            set_dotted(row, dotted, value)
        except (AttributeError, TypeError) as err:   # a dotted key below a plain value
            raise ParamsError(f"{path}: {where} overrides {dotted!r}, which is not a key of the params") from err
    row["ablations"] = {**row.get("ablations", {}), "grids": {}}
    try:
        _check_variants(_checked(lambda: _build(Params, row, ""), path), path)
    except ParamsError as err:
        raise ParamsError(f"{err} (in {where})") from err


def model_config(params: Params) -> ModelConfig:
    """The model's config with its frame count and size taken from the ``frames`` section.

    ``frames`` is the one place these are set (the frame cache is built from it); a conflicting
    ``model.image_size`` or ``model.num_frames`` in params.yaml is an error, not a silent override.
    """
    frames = params.frames
    defaults = ModelConfig()
    for name, wanted in (("image_size", frames.size), ("num_frames", frames.num_frames)):
        given = getattr(params.model, name)
        if given not in (getattr(defaults, name), wanted):
            raise ValueError(f"model.{name}={given} conflicts with frames: set it in the frames section only")
    cfg = dataclasses.replace(params.model, image_size=frames.size, num_frames=frames.num_frames)
    if cfg.preset == "tiny" and cfg.vision is None and cfg.vision_init == "pretrained":
        cfg = dataclasses.replace(cfg, vision=str(pretrain_checkpoint(params)))
    return cfg


def pretrain_checkpoint(params: Params) -> Path:
    """The pretrain stage's checkpoint: the tiny preset's starting towers (``model.vision_init: pretrained``)."""
    return Path(params.paths.work) / "pretrain" / "model.pt"
