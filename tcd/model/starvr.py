"""StarVR as TextVR's own code builds it (`starvr_paper`): the paper-scale baseline of Table A1, for counting
and timing only (random weights, never trained in the study).

The family's `starvr` shares TCD's encoders, so its cost gap to TCD is only the 200 short word passes. The
paper's 395.2 G is for StarVR's own model, which this module rebuilds from the public code of TextVR's authors
(repository callsys/TextVR; `params.py` selects `version = 'fusion'`, whose branches are the ones cited):

* video: the Frozen-in-Time space-time ViT-B/16 (`model/video_transformer.py` SpaceTimeTransformer, built by
  `model/model.py` FrozenInTime with `configs/TextVR_fusion.json` arch `base_patch16_224`, `num_frames` 4,
  `input_res` 224): 768 wide, 12 layers, 12 heads, MLP 3072 (timm's vit_base_patch16_224; the defaults of
  transformers' ViTConfig), LayerNorm eps 1e-6. Each block: time attention, then space attention, then the MLP;
  the CLS token attends to every token, a patch attends to its own position across frames (time) or its own
  frame (space), plus the CLS key. The block output is x + space(norm(x + time(norm x))) + MLP (the time branch
  reaches the residual stream only through the space attention's input, as written there). Output: the CLS.
* query: `distilbert-base-uncased` (TextVR_fusion.json text_params; DistilBertConfig's defaults: 768, 6 layers,
  12 heads, FFN 3072), its first token, then ReLU + Linear(768, 256) (`projection: minimal`, projection_dim 256).
* OCR words: a second DistilBERT (`ocr_model`) run on each word separately, at most 200 per video
  (`params.py` ocr_token_l), first token + Linear(12, 768) of the word's 12-d box/time vector (`ocr_pos_embeds`).
  All words of a batch are tokenised together with padding=True (`trainer/trainer.py` _format_ocr_info), so
  every word is padded to the batch's longest word; only each video's valid words run (`compute_ocr`
  input_ids[:valid_l], at least one).
* fusion (`compute_fusion`): tokens [query token (zeros init); video CLS; words] + a type embedding (3 types),
  one multi-head self-attention with q/k/v projections only (`SelfAttention(768, 8, 0)`: no output projection,
  no MLP, no norm); output = query token + attention output at the query token, then ReLU + Linear(768, 256).
* loss (`trainer/trainer.py`, fusion branch): the caption against the fused vector only (the video-only
  embedding `vid_proj` is computed there but unused by the loss; it is left out here, 0.2 MFLOPs per video);
  NormSoftmaxLoss at temperature 0.05. Here `tcd.losses.infonce` averages the two directions where
  NormSoftmaxLoss sums them (a factor 2 on the loss; the cost is the same).

Tokenizer: all-MiniLM-L6-v2's BERT-uncased WordPiece (the same 30522-token vocabulary as distilbert-base-uncased,
so the same token counts). Frames are processed as given; padded frames run as zeros, as TextVR's loader pads.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pad_sequence
from transformers import AutoTokenizer, DistilBertConfig, DistilBertModel, ViTConfig

from tcd.losses import infonce
from tcd.model.encoders import minilm_path
from tcd.model.family import ScoreOutput, VideoState, cosine


@dataclass(frozen=True)
class StarVRPaperConfig:
    """Sizes of TextVR's StarVR (defaults: the values cited in the module docstring); smaller ones for tests."""

    video_frames: int = 4              # TextVR_fusion.json video_params.num_frames (the bench's num_frames is the family's N)
    frame_size: int = 224              # video_params.input_res; arch base_patch16_224
    patch_size: int = 16
    width: int = 768                   # ViT-B and DistilBERT-base alike: the fusion concatenates both as they are
    video_layers: int = 12
    video_heads: int = 12
    text_layers: int = 6               # distilbert-base-uncased
    text_heads: int = 12
    fusion_heads: int = 8              # SelfAttention(768, 8, 0)
    embed_dim: int = 256               # FrozenInTime projection_dim
    max_words: int = 200               # params.py ocr_token_l
    temperature: float = 0.05          # NormSoftmaxLoss
    freeze_text: bool = True           # as the study's own text towers (like for like); TextVR fine-tunes both: False

    def __post_init__(self) -> None:
        for name, divisor in (("video_heads", self.video_heads), ("text_heads", self.text_heads),
                              ("fusion_heads", self.fusion_heads)):
            if self.width % divisor:
                raise ValueError(f"starvr_paper width={self.width} is not divisible by {name}={divisor}")
        if self.frame_size % self.patch_size:
            raise ValueError(f"starvr_paper frame_size={self.frame_size} is not divisible by patch_size={self.patch_size}")

    @property
    def image_size_resolved(self) -> int:
        """Frame size, under the name RetrievalModel's config uses (tcd.complexity reads it from either)."""
        return self.frame_size


FIELDS = frozenset(f.name for f in fields(StarVRPaperConfig))


# ---- video: Frozen-in-Time's space-time transformer ------------------------------------------------------------

class DividedAttention(nn.Module):
    """Multi-head attention where the CLS token (index 0) attends to all tokens and each patch token attends to
    the CLS plus its group: `time` groups one spatial position across frames, `space` one frame's patches."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads, self.qkv, self.proj = heads, nn.Linear(width, 3 * width), nn.Linear(width, width)

    def forward(self, x: Tensor, frames: int, axis: str) -> Tensor:
        b, t, w = x.shape
        q, k, v = (z.unflatten(-1, (self.heads, -1)).transpose(1, 2) for z in self.qkv(x).chunk(3, -1))  # [B, h, T, d]
        cls = F.scaled_dot_product_attention(q[:, :, :1], k, v)                                          # [B, h, 1, d]

        def groups(z: Tensor) -> Tensor:   # patches [B, h, F*n, d] -> [B, h, groups, group size, d]
            z = z[:, :, 1:].unflatten(2, (frames, -1))
            return z.transpose(2, 3) if axis == "time" else z

        qg, kg, vg = groups(q), groups(k), groups(v)
        g = qg.shape[2]
        kg = torch.cat([k[:, :, None, :1].expand(-1, -1, g, -1, -1), kg], dim=3)
        vg = torch.cat([v[:, :, None, :1].expand(-1, -1, g, -1, -1), vg], dim=3)
        out = F.scaled_dot_product_attention(qg.flatten(1, 2), kg.flatten(1, 2), vg.flatten(1, 2)).unflatten(1, (self.heads, g))
        out = out.transpose(2, 3) if axis == "time" else out
        out = torch.cat([cls, out.flatten(2, 3)], dim=2)                                                 # [B, h, T, d]
        return self.proj(out.transpose(1, 2).reshape(b, t, w))


class SpaceTimeBlock(nn.Module):
    def __init__(self, width: int, heads: int, mlp: int, eps: float):
        super().__init__()
        self.norm_time, self.norm_space, self.norm_mlp = (nn.LayerNorm(width, eps=eps) for _ in range(3))
        self.time, self.space = DividedAttention(width, heads), DividedAttention(width, heads)
        self.mlp = nn.Sequential(nn.Linear(width, mlp), nn.GELU(), nn.Linear(mlp, width))

    def forward(self, x: Tensor, frames: int) -> Tensor:
        mixed = x + self.time(self.norm_time(x), frames, "time")
        x = x + self.space(self.norm_space(mixed), frames, "space")
        return x + self.mlp(self.norm_mlp(x))


class SpaceTimeTransformer(nn.Module):
    """frames [V, F, 3, S, S] -> the CLS feature [V, width] (Frozen-in-Time, see module docstring)."""

    def __init__(self, vit: ViTConfig, num_frames: int):
        super().__init__()
        w, patches = vit.hidden_size, (vit.image_size // vit.patch_size) ** 2
        self.patch = nn.Conv2d(vit.num_channels, w, kernel_size=vit.patch_size, stride=vit.patch_size)
        self.cls = nn.Parameter(torch.randn(1, 1, w) * 0.02)
        self.position = nn.Parameter(torch.randn(1, patches + 1, w) * 0.02)
        self.temporal = nn.Parameter(torch.zeros(1, num_frames, 1, w))
        self.blocks = nn.ModuleList(SpaceTimeBlock(w, vit.num_attention_heads, vit.intermediate_size, vit.layer_norm_eps)
                                    for _ in range(vit.num_hidden_layers))
        self.norm = nn.LayerNorm(w, eps=vit.layer_norm_eps)

    def forward(self, frames: Tensor) -> Tensor:
        v, f = frames.shape[:2]
        x = self.patch(frames.flatten(0, 1)).flatten(2).transpose(1, 2).unflatten(0, (v, f))   # [V, F, n, w]
        x = (x + self.position[:, None, 1:] + self.temporal[:, :f]).flatten(1, 2)
        x = torch.cat([(self.cls + self.position[:, :1]).expand(v, -1, -1), x], dim=1)
        for block in self.blocks:
            x = block(x, f)
        return self.norm(x)[:, 0]


# ---- text: DistilBERT towers -----------------------------------------------------------------------------------

class DistilBertTower(nn.Module):
    """Strings -> first-token features [n, width]; every string padded to the longest one of the call.
    Named `tower` inside, so `tcd.train.make_optimizer` gives a fine-tuned tower the text learning rate."""

    def __init__(self, config: DistilBertConfig, tokenizer, frozen: bool):
        super().__init__()
        self.tower, self.tokenizer, self.frozen = DistilBertModel(config), tokenizer, frozen
        if frozen:
            self.tower.requires_grad_(False)

    def train(self, mode: bool = True) -> "DistilBertTower":
        super().train(mode)
        if self.frozen:
            self.tower.eval()
        return self

    def forward(self, strings: list[str]) -> Tensor:
        device = self.tower.embeddings.word_embeddings.weight.device
        tokens = self.tokenizer(list(strings), padding=True, truncation=True, return_tensors="pt",
                                max_length=self.tower.config.max_position_embeddings)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            out = self.tower(input_ids=tokens["input_ids"].to(device), attention_mask=tokens["attention_mask"].to(device))
        return out.last_hidden_state[:, 0]


# ---- fusion and the model --------------------------------------------------------------------------------------

class QKVSelfAttention(nn.Module):
    """TextVR's fusion SelfAttention: q, k, v projections and multi-head attention, no output projection."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = nn.Linear(width, width), nn.Linear(width, width), nn.Linear(width, width)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """x [V, T, w], key mask [V, T] -> [V, T, w] (every token's output, as TextVR computes it)."""
        q, k, v = (layer(x).unflatten(-1, (self.heads, -1)).transpose(1, 2) for layer in (self.query, self.key, self.value))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
        return out.transpose(1, 2).flatten(2)


class StarVRPaper(nn.Module):
    """TextVR's StarVR (see module docstring) behind RetrievalModel's interface: encode_queries, encode_videos,
    score and training_loss, so `tcd.train.train_step` and `tcd.complexity` run it as they run the family."""

    video_kind, ocr_kind, query_dependent, pair_floats = "starvr_paper", "instances", False, 0

    def __init__(self, cfg: StarVRPaperConfig):
        super().__init__()
        self.cfg, w = cfg, cfg.width
        vit = ViTConfig(hidden_size=w, num_hidden_layers=cfg.video_layers, num_attention_heads=cfg.video_heads,
                        intermediate_size=4 * w, image_size=cfg.frame_size, patch_size=cfg.patch_size, layer_norm_eps=1e-6)
        bert = DistilBertConfig(dim=w, n_layers=cfg.text_layers, n_heads=cfg.text_heads, hidden_dim=4 * w)
        tokenizer = AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)
        self.video = SpaceTimeTransformer(vit, cfg.video_frames)
        self.text = DistilBertTower(bert, tokenizer, cfg.freeze_text)
        self.ocr_text = DistilBertTower(bert, tokenizer, cfg.freeze_text)
        self.geometry = nn.Linear(12, w)
        self.query_token = nn.Parameter(torch.zeros(1, w))
        self.type_embedding = nn.Embedding(3, w)            # query token, video, OCR word
        self.fusion = QKVSelfAttention(w, cfg.fusion_heads)
        self.text_projection = nn.Sequential(nn.ReLU(), nn.Linear(w, cfg.embed_dim))
        self.fusion_projection = nn.Sequential(nn.ReLU(), nn.Linear(w, cfg.embed_dim))
        self.register_buffer("logit_scale", torch.tensor(1.0 / cfg.temperature), persistent=False)
        self.encoder_info = {
            "vision": f"Frozen-in-Time space-time ViT-B/{cfg.patch_size} ({cfg.video_layers} layers, {w} wide), "
                      f"{cfg.video_frames} frames (RANDOM init)",
            "text": f"DistilBERT ({cfg.text_layers} layers, {w} wide) for the query + a second one per OCR word (RANDOM init)",
        }

    @property
    def device(self) -> torch.device:
        return self.query_token.device

    def word_token_macs(self, words: int) -> int:
        """Multiply-adds per video that one more padded token per OCR word adds (`words` words): its q, k, v,
        output and FFN projections in every DistilBERT layer, 12·w² (the attention's own 4·L·w is left out).
        Every word is padded to the batch's longest, so one long word makes all of them pay this."""
        return words * self.cfg.text_layers * 12 * self.cfg.width ** 2

    def encode_queries(self, queries: list[str]) -> Tensor:
        return self.text_projection(self.text(queries))

    def encode_videos(self, batch: dict) -> VideoState:
        """batch: frames [V, F, 3, S, S]; instance_words (V lists of <= max_words words), instance_geometry
        [V, K, 12], instance_mask [V, K] (default: word present and non-empty). Only valid words run (at least
        one per video, TextVR's max(1, valid_l)); they are tokenised together, padded to the longest."""
        video = self.video(batch["frames"].to(self.device))
        geometry = torch.as_tensor(batch["instance_geometry"], dtype=video.dtype).to(self.device)
        v, k = geometry.shape[:2]
        if k > self.cfg.max_words:
            raise ValueError(f"{k} OCR words per video, but starvr_paper max_words={self.cfg.max_words}")
        rows = [list(row[:k]) + [""] * (k - len(row[:k])) for row in batch["instance_words"]]
        mask = batch.get("instance_mask")
        mask = torch.as_tensor(mask).bool().cpu() if mask is not None else torch.tensor([[bool(w) for w in r] for r in rows])
        keep = [torch.nonzero(m).flatten().tolist() or [0] for m in mask.reshape(v, k)]
        words = self.ocr_text([rows[i][j] or " " for i, idx in enumerate(keep) for j in idx])
        words = words + self.geometry(torch.cat([geometry[i, idx] for i, idx in enumerate(keep)]))
        counts = torch.tensor([len(idx) for idx in keep])
        tokens = pad_sequence(list(words.split(counts.tolist())), batch_first=True)      # [V, max count, w]
        valid = (torch.arange(tokens.shape[1])[None] < counts[:, None]).to(self.device)
        return VideoState({"vec_fused": self._fuse(video, tokens, valid)})

    def _fuse(self, video: Tensor, words: Tensor, word_mask: Tensor) -> Tensor:
        """video [V, w], words [V, K', w] (padded), word_mask [V, K'] -> fused [V, D]."""
        v = video.shape[0]
        types = self.type_embedding.weight
        tokens = torch.cat([(self.query_token + types[0]).expand(v, 1, -1), (video + types[1])[:, None],
                            words + types[2]], dim=1)
        mask = torch.cat([torch.ones(v, 2, dtype=torch.bool, device=self.device), word_mask], dim=1)
        return self.fusion_projection(self.query_token + self.fusion(tokens, mask)[:, 0])

    def score(self, queries: Tensor, videos: VideoState) -> ScoreOutput:
        sim = cosine(queries.to(self.device), videos["vec_fused"])
        return ScoreOutput(sim, {"fused": sim})

    def training_loss(self, batch: dict) -> tuple[Tensor, dict[str, Tensor]]:
        """InfoNCE at TextVR's temperature on the caption x fused-vector scores."""
        sim = self.score(self.encode_queries(batch["queries"]), self.encode_videos(batch)).sim
        loss = infonce(self.logit_scale * sim)
        # detached tensors: the training loop syncs with the host only every train.log_every steps
        return loss, dict(loss=loss.detach(), infonce=loss.detach(), hsc=torch.zeros((), device=loss.device),
                          logit_scale=self.logit_scale.detach())


def build_starvr_paper(**overrides) -> StarVRPaper:
    """StarVR at TextVR's sizes; `overrides` are StarVRPaperConfig fields (unknown names raise)."""
    unknown = sorted(set(overrides) - FIELDS)
    if unknown:
        raise ValueError(f"unknown starvr_paper parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(FIELDS))}")
    return StarVRPaper(StarVRPaperConfig(**overrides))
