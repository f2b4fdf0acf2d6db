"""ModelConfig: every row of the paper's tables is one of these (variant name + switches)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

VARIANTS = ("clip4clip", "clip4clip_seqtransf", "xpool", "starvr", "clip4clip_wocr", "xpool_wocr", "tcd")
PRESETS = ("tiny", "clip-b32")
SWITCHES = ("text_condition", "hsc", "co_attention", "ctcd")

# What each variant is made of. `video`: how frames become a video vector (meanP, CLIP4Clip's seqTransf,
# X-Pool's text-conditioned pooling, or TCD's text-condition with tau); `ocr`: no OCR, one caption per
# window (the window-OCR captioner), or StarVR's per-word instance tokens.
VARIANT_PARTS = {
    "clip4clip":           dict(video="mean", ocr="none"),
    "clip4clip_seqtransf": dict(video="seqtransf", ocr="none"),
    "xpool":               dict(video="xpool", ocr="none"),
    "starvr":              dict(video="mean", ocr="instances"),
    "clip4clip_wocr":      dict(video="mean", ocr="windows"),
    "xpool_wocr":          dict(video="xpool", ocr="windows"),
    "tcd":                 dict(video="tcd", ocr="windows"),
}

# Preset defaults, used wherever the config leaves a field as None.
PRESET_DEFAULTS = {
    # clip-b32 fine-tunes its text tower, as the baselines the paper compares with do; tiny keeps MiniLM frozen
    "tiny": dict(vision=None, text=None, image_size=64, embed_dim=256, freeze_text=True),
    "clip-b32": dict(vision="openai/clip-vit-base-patch32", text=None, image_size=224, embed_dim=512, freeze_text=False),
}


@dataclass(frozen=True)
class ModelConfig:
    """The `model:` section of params.yaml (pass it as keyword arguments).

    Module switches (`text_condition`, `hsc`, `co_attention`, `ctcd`) are None by default and each variant
    resolves them: `tcd` turns all four on, and setting one to False gives the ablation rows of Table A4
    (`ctcd: false` replaces CTCD by plain cross-attention) and Table A5 (`text_condition` only, sweep `tau`).
    The baselines have no such modules: for them a switch may be left None or set False, never True.
    Read the resolved values from `cfg.switches`.
    """

    variant: str = "tcd"
    preset: str = "tiny"
    vision: str | None = None          # None -> preset default (tiny: a small CLIP ViT from scratch); a tcd checkpoint
                                       #   (*.pt, the pretrain stage's) -> the tiny ViT starting from its weights
    vision_init: str = "pretrained"    # tiny preset in the study: pretrained (tcd.config.model_config points `vision`
                                       #   at the pretrain stage's checkpoint) | scratch (random init, no pretraining)
    text: str | None = None            # None -> preset default (tiny: all-MiniLM-L6-v2; clip-b32: CLIP's text tower)
    image_size: int | None = None      # None -> 64 (tiny) / 224 (clip-b32)
    num_frames: int = 12               # N: sampled frames = OCR windows (at most; fewer are padded by masks)
    embed_dim: int | None = None       # D of the joint space; None -> 256 (tiny) / 512 (clip-b32)
    # the tiny vision transformer (from scratch); ignored when `vision` names a pretrained model
    vision_layers: int = 4
    vision_width: int = 192
    vision_heads: int = 4
    vision_patch: int = 8              # pixels per token: 8 -> 64 tokens per 64-px frame (the study's); 16 -> 16 tokens
    vision_stem: str = "conv"          # conv: three strided convolutions make the patch tokens (objects a few pixels
                                       #   wide survive them) | patch: CLIP's linear patch embedding
    vision_tuning: str = "frozen"      # frozen: a loaded vision backbone keeps its weights, each frame's feature
                                       #   computed once; its projection still trains | finetune: it trains too, at
                                       #   train.pretrained_lr. A tower from scratch always trains
    text_projection: str = "pretrained"  # with a pretrain checkpoint: the query text projection starts from the
                                       #   checkpoint's (as CLIP's models start from CLIP's) | fresh: random init
    # text towers
    freeze_text: bool | None = None    # None -> preset default; frozen: each distinct string's features computed once
    allow_random_weights: bool = False # clip-b32 without its weights on disk: an error, unless this (benchmarks) is true
    shared_ocr_encoder: bool = True    # OCR captions / words through the query's text encoder (False: a second copy)
    query_max_tokens: int = 32
    ocr_max_tokens: int = 64
    # TCD switches (None -> the variant's default, see docstring)
    text_condition: bool | None = None
    hsc: bool | None = None
    co_attention: bool | None = None
    ctcd: bool | None = None
    tau: float = 5.0                   # text-condition: w = softmax(tau * cos(t, f_i)) (tau multiplies, see condition.py)
    hsc_lambda: float = 0.1            # 0.1 TextVR / M4-ViteVQA, 0.05 MSR-VTT
    # HSC softmax temperature t on cosines. Measured here: the tiny preset's frame/window cosines spread only
    # ~0.05, so t = 0.1 leaves the cycle uniform (L_hsc stuck at (N^2-1)/12, zero gradient); t = 0.01 lets it act.
    hsc_temperature: float = 0.01
    ctcd_heads: int = 8                # heads of co-attention and CTCD cross-attention
    # baselines
    temporal_layers: int = 4           # CLIP4Clip seqTransf depth
    xpool_heads: int = 1               # X-Pool uses one head
    max_instance_words: int = 200      # StarVR
    # contrastive loss
    logit_scale_init: float = 20.0     # 1 / temperature (StarVR's 0.05); CLIP's own init would be 1/0.07
    learn_logit_scale: bool = True     # learned as log(scale), clamped to <= 100 like CLIP
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"model.variant={self.variant!r}: expected one of {', '.join(VARIANTS)}")
        if self.preset not in PRESETS:
            raise ValueError(f"model.preset={self.preset!r}: expected one of {', '.join(PRESETS)}")
        positive_ints = ("num_frames", "vision_layers", "vision_width", "vision_heads", "vision_patch",
                         "query_max_tokens", "ocr_max_tokens", "ctcd_heads", "temporal_layers", "xpool_heads",
                         "max_instance_words")
        for name in positive_ints + ("image_size", "embed_dim"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"model.{name}={value!r}: expected a positive integer")
        if self.vision_stem not in ("conv", "patch"):
            raise ValueError(f"model.vision_stem={self.vision_stem!r}: expected conv or patch")
        if self.vision_stem == "conv" and self.vision_patch % 4:
            raise ValueError(f"model.vision_patch={self.vision_patch}: the conv stem needs a multiple of 4")
        if self.text_projection not in ("pretrained", "fresh"):
            raise ValueError(f"model.text_projection={self.text_projection!r}: expected pretrained or fresh")
        if self.vision_init not in ("pretrained", "scratch"):
            raise ValueError(f"model.vision_init={self.vision_init!r}: expected pretrained or scratch")
        if self.vision_tuning not in ("finetune", "frozen"):
            raise ValueError(f"model.vision_tuning={self.vision_tuning!r}: expected finetune or frozen")
        if self.freeze_text is not None and not isinstance(self.freeze_text, bool):
            raise ValueError(f"model.freeze_text={self.freeze_text!r}: expected true, false or null")
        for name in ("shared_ocr_encoder", "learn_logit_scale", "allow_random_weights"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"model.{name}={getattr(self, name)!r}: expected true or false")
        for name in ("tau", "hsc_temperature", "logit_scale_init"):
            if not getattr(self, name) > 0:
                raise ValueError(f"model.{name}={getattr(self, name)!r}: expected a positive number")
        if self.hsc_lambda < 0:
            raise ValueError(f"model.hsc_lambda={self.hsc_lambda!r}: expected >= 0")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"model.dropout={self.dropout!r}: expected 0 <= dropout < 1")
        if self.vision_width % self.vision_heads:
            raise ValueError(f"model.vision_width={self.vision_width} is not divisible by vision_heads={self.vision_heads}")
        if self.image_size is not None and (self.vision is None or self.vision_from_checkpoint) and self.preset == "tiny" \
                and self.image_size % self.vision_patch:
            raise ValueError(f"model.image_size={self.image_size} is not divisible by vision_patch={self.vision_patch}")
        for name in SWITCHES:
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise ValueError(f"model.{name}={value!r}: expected true, false or null")
            if value and self.variant != "tcd":
                raise ValueError(f"model.{name}=true applies to variant 'tcd' only, not {self.variant!r} "
                                 f"(the baselines have no such module)")
        if self.embed_dim_resolved % self.ctcd_heads:
            raise ValueError(f"model.embed_dim={self.embed_dim_resolved} is not divisible by ctcd_heads={self.ctcd_heads}")
        if self.embed_dim_resolved % self.xpool_heads:
            raise ValueError(f"model.embed_dim={self.embed_dim_resolved} is not divisible by xpool_heads={self.xpool_heads}")

    # ---- resolved values -------------------------------------------------------------------------------
    @property
    def switches(self) -> dict[str, bool]:
        """The module switches in effect: all on for tcd unless set False, all off for the baselines."""
        return {name: bool(getattr(self, name) is not False and self.variant == "tcd") for name in SWITCHES}

    @property
    def parts(self) -> dict[str, str]:
        """`video` and `ocr` kinds of this variant (see VARIANT_PARTS)."""
        return VARIANT_PARTS[self.variant]

    @property
    def image_size_resolved(self) -> int:
        return self.image_size or PRESET_DEFAULTS[self.preset]["image_size"]

    @property
    def embed_dim_resolved(self) -> int:
        return self.embed_dim or PRESET_DEFAULTS[self.preset]["embed_dim"]

    @property
    def freeze_text_resolved(self) -> bool:
        return PRESET_DEFAULTS[self.preset]["freeze_text"] if self.freeze_text is None else self.freeze_text

    @property
    def vision_from_checkpoint(self) -> bool:
        """Whether `vision` names a tcd checkpoint (the pretrain stage's) rather than a Hugging Face model."""
        return self.vision is not None and self.vision.endswith(".pt")

    @property
    def vision_resolved(self) -> str | None:
        return self.vision or PRESET_DEFAULTS[self.preset]["vision"]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, params: dict) -> "ModelConfig":
        """Build from a params dict; unknown keys raise a ValueError naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"unknown model parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**params)
