"""The retrieval family: TCD and the baselines, assembled from encoders / condition / hsc / ctcd by variant.

    queries ──text encoder──────────────────────────────────────────────┐ t [Q, D]
    frames ──vision encoder── F [V, N, D] ─┬─ text-condition (τ) ─┐      │
    OCR captions ──text encoder── O [V, N, D] ─┴─ text-condition (τ) ─┴─ co-attention ── Ṽ, Õ ── CTCD ── hybrid
    S_TV = cos(t, Σ w_i Ṽ_i), S_TO = cos(t, Σ w_j Õ_j), S_TH = cos(t, hybrid);  S = mean(S_TV, S_TO, S_TH)

Everything that depends on the video alone is computed once by `encode_videos` (a VideoState); `score`
does only the query-dependent rest. Baselines: `clip4clip` (meanP), `clip4clip_seqtransf`, `xpool`,
`starvr` (per-word OCR tokens fused behind a query token), and the window-OCR versions `clip4clip_wocr`,
`xpool_wocr` (S = mean(S_TV, S_TO)). Conventions:
  * S is the mean over the parts a video has. A video without any text (all OCR windows masked; 30 % of
    MSR-VTT) has no S_TO: the wocr baselines score it S = S_TV, TCD S = mean(S_TV, S_TH). TCD's hybrid exists
    without text: the OCR clue still reads the (text-conditioned) frames, and the video clue, which would
    read nothing, is left out (ctcd.ClueDistilling). The "no modules" ablation (ctcd: false) has no hybrid
    without text (both its directions need OCR tokens): S = S_TV. A missing part scores 0 in `parts`;
  * the text-condition weights tokens (pooling weights w, attention key bias log s), never rescales them
    (condition.py, ctcd.py);
  * padded frames and empty windows are masked everywhere (pooling, attention, HSC); HSC accepts a cycle
    that comes back anywhere in the run of identical consecutive captions (`ocr_run`, hsc.py).
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tcd.distributed import gather_batch
from tcd.losses import infonce
from tcd.model.attention import masked_mean, weighted_mean
from tcd.model.condition import XPool, text_condition_scales
from tcd.model.config import ModelConfig
from tcd.model.ctcd import ClueDistilling, PlainCrossAttention, VideoOcrCoAttention
from tcd.model.encoders import CLIP_MEAN, CLIP_STD, InstanceFusion, TemporalTransformer, TextEncoder, \
    build_encoders
from tcd.model.hsc import caption_runs, hsc_loss

# 2: text-condition as weights / key bias (not token scaling), S averaged over the parts a video has
# 3: a safetensors file (weights) with the format and the config as JSON in its metadata
CHECKPOINT_FORMAT = "tcd-model/3"


@dataclass
class VideoState:
    """Query-independent video tensors, all with videos on dim 0 (slice with `index`, join with `cat`)."""

    tensors: dict[str, Tensor] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Tensor:
        return self.tensors[key]

    def __contains__(self, key: str) -> bool:
        return key in self.tensors

    def __len__(self) -> int:
        return len(next(iter(self.tensors.values())))

    def index(self, rows: slice | Tensor | list[int]) -> "VideoState":
        return VideoState({k: v[rows] for k, v in self.tensors.items()})

    def to(self, device: torch.device | str) -> "VideoState":
        return VideoState({k: v.to(device) for k, v in self.tensors.items()})

    @staticmethod
    def cat(states: list["VideoState"]) -> "VideoState":
        return VideoState({k: torch.cat([s.tensors[k] for s in states]) for k in states[0].tensors})


@dataclass
class ScoreOutput:
    """sim [Q, V] = mean of the parts each video has; parts [Q, V]: 'video', 'ocr', 'hybrid' (S_TV, S_TO,
    S_TH) where the variant has them, 'fused' for StarVR; a video's missing part (no text) scores 0 there."""

    sim: Tensor
    parts: dict[str, Tensor]


def cosine(queries: Tensor, vectors: Tensor) -> Tensor:
    """queries [Q, D] against vectors [V, D] or per-pair vectors [Q, V, D] -> [Q, V]; a zero vector scores 0."""
    q, v = F.normalize(queries, dim=-1, eps=1e-6), F.normalize(vectors, dim=-1, eps=1e-6)
    return q @ v.T if v.dim() == 2 else torch.einsum("qd,qvd->qv", q, v)


class RetrievalModel(nn.Module):
    """One variant of the family (see module docstring); build with `build_model(cfg)`."""

    def __init__(self, cfg: ModelConfig, load_weights: bool = True):
        super().__init__()
        self.cfg = cfg
        d, kinds, switches = cfg.embed_dim_resolved, cfg.parts, cfg.switches
        self.video_kind, self.ocr_kind = kinds["video"], kinds["ocr"]
        self.switches = switches
        self.vision, self.text, ocr_text, self.encoder_info = build_encoders(cfg, load_weights)
        self.ocr_text = None if ocr_text is self.text else ocr_text   # registered once when shared
        self.log_logit_scale = nn.Parameter(torch.tensor(math.log(cfg.logit_scale_init)),
                                            requires_grad=cfg.learn_logit_scale)
        self.register_buffer("pixel_mean", torch.tensor(CLIP_MEAN).view(3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(CLIP_STD).view(3, 1, 1), persistent=False)
        if self.video_kind == "seqtransf":
            self.temporal = TemporalTransformer(d, cfg.num_frames, cfg.temporal_layers, cfg.dropout)
        if self.video_kind == "xpool":
            self.xpool_video = XPool(d, cfg.xpool_heads, cfg.dropout)
            if self.ocr_kind == "windows":
                self.xpool_ocr = XPool(d, cfg.xpool_heads, cfg.dropout)
        if self.ocr_kind == "instances":
            self.instance_fusion = InstanceFusion(d, cfg.dropout)
        if self.video_kind == "tcd":
            if switches["co_attention"]:
                self.co_attention = VideoOcrCoAttention(d, cfg.ctcd_heads)
            clue = ClueDistilling if switches["ctcd"] else PlainCrossAttention
            self.clue = clue(d, cfg.ctcd_heads, cfg.dropout)

    # ---- helpers -----------------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.log_logit_scale.device

    @property
    def ocr_encoder(self) -> TextEncoder:
        return self.ocr_text if self.ocr_text is not None else self.text

    @property
    def logit_scale(self) -> Tensor:
        return self.log_logit_scale.exp().clamp(max=100.0)

    @property
    def query_dependent(self) -> bool:
        """Whether the video side of a score depends on the query (then scoring is per (query, video) pair)."""
        return self.video_kind == "xpool" or (self.video_kind == "tcd" and self.switches["text_condition"])

    @property
    def pair_floats(self) -> int:
        """Rough count of floats held per (query, video) pair while scoring (bounds chunk sizes)."""
        if not self.query_dependent:
            return 0
        n, d = self.cfg.num_frames, self.cfg.embed_dim_resolved
        if self.video_kind == "xpool":
            return 8 * d
        h = self.cfg.ctcd_heads
        if self.switches["ctcd"]:   # the batched head (`batched_head`): attention weights, a few D-vectors
            return 6 * h * n * n + 12 * d
        return 10 * n * d + 4 * h * n * n

    @property
    def head_floats(self) -> int:
        """Floats per video that `prepare_scoring` adds (the batched head's per-video tensors; 0 without it)."""
        if not (self.video_kind == "tcd" and self.switches["text_condition"] and self.switches["ctcd"]):
            return 0
        n, d, h = self.cfg.num_frames, self.cfg.embed_dim_resolved, self.cfg.ctcd_heads
        m = h * n if self.switches["co_attention"] else 0
        return 2 * (m * m + 2 * n * m + m * h + 2 * m * d + n * d + n + n * h + h)   # with the laid-out co-attention

    def preprocess_frames(self, frames: np.ndarray | Tensor) -> Tensor:
        """uint8 [B, N, S, S, 3] (RGB) -> float [B, N, 3, S', S'] normalised with CLIP's mean/std, on the
        model's device; resized (bilinear, antialiased) when S differs from the model's image size."""
        x = torch.as_tensor(frames).to(self.device)
        if x.dtype != torch.uint8 or x.dim() != 5 or x.shape[-1] != 3:
            raise ValueError(f"expected uint8 frames [B, N, S, S, 3], got {x.dtype} {tuple(x.shape)}")
        b, n = x.shape[:2]
        x = x.permute(0, 1, 4, 2, 3).flatten(0, 1).float() / 255.0
        size = self.cfg.image_size_resolved
        if x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        return ((x - self.pixel_mean) / self.pixel_std).unflatten(0, (b, n))

    # ---- encoders ----------------------------------------------------------------------------------------
    def encode_text(self, strings: list[str], kind: str = "query") -> Tensor:
        """Strings -> [n, D] in the joint space; kind 'query' (query encoder) or 'ocr' (OCR encoder).
        Empty strings are allowed (callers mask them)."""
        encoder = self.text if kind == "query" else self.ocr_encoder
        return encoder(list(strings), kind)

    def encode_queries(self, queries: list[str]) -> Tensor:
        return self.encode_text(queries, "query")

    def encode_videos(self, batch: dict) -> VideoState:
        """Query-independent video state. batch: frames float [V, N, 3, S, S] (see preprocess_frames),
        optional frame_mask bool [V, N]; window OCR: ocr_captions (V lists of N strings), ocr_mask [V, N]
        (default: caption non-empty), which also give ocr_run [V, N] (caption runs, see hsc.py); StarVR:
        instance_words (V lists of <= K words), instance_geometry [V, K, 12], instance_mask [V, K] (default:
        word present and non-empty)."""
        frames = batch["frames"].to(self.device)
        v, n = frames.shape[:2]
        if n > self.cfg.num_frames:
            raise ValueError(f"{n} frames per video, but model.num_frames={self.cfg.num_frames}")
        frame_mask = _mask(batch.get("frame_mask"), (v, n), self.device)
        feats = self.vision(frames)
        if self.video_kind == "seqtransf":
            feats = self.temporal(feats, frame_mask)
        state = dict(frames=feats, frame_mask=frame_mask)
        if self.video_kind in ("mean", "seqtransf"):
            state["vec_video"] = masked_mean(feats, frame_mask)
        if self.ocr_kind == "windows":
            captions = batch["ocr_captions"]
            if len(captions) != v or any(len(row) != n for row in captions):
                raise ValueError(f"ocr_captions must be {v} lists of {n} strings (one per window)")
            ocr = self.encode_text([c for row in captions for c in row], "ocr").view(v, n, -1)
            default = [[bool(c) for c in row] for row in captions]
            ocr_mask = _mask(batch.get("ocr_mask", default), (v, n), self.device)
            state.update(ocr=ocr, ocr_mask=ocr_mask, ocr_run=caption_runs(captions, ocr_mask))
            if self.video_kind == "mean":
                state["vec_ocr"] = masked_mean(ocr, ocr_mask)
        if self.ocr_kind == "instances":
            state["vec_fused"] = self._fuse_instances(batch, state["vec_video"])
        if self.video_kind == "xpool":
            state["xpool_video_k"], state["xpool_video_v"] = self.xpool_video.prepare(feats)
            if self.ocr_kind == "windows":
                state["xpool_ocr_k"], state["xpool_ocr_v"] = self.xpool_ocr.prepare(state["ocr"])
        if self.video_kind == "tcd":
            prep = self.co_attention.prepare(feats, state["ocr"]) if self.switches["co_attention"] else {}
            if self.switches["text_condition"]:
                state.update(prep)
            else:   # nothing depends on the query: compute the three vectors now
                ones_v, ones_o = frame_mask.to(feats.dtype)[None], state["ocr_mask"].to(feats.dtype)[None]
                vectors = self._tcd_vectors(state, prep, ones_v, ones_o)
                state.update({f"vec_{k}": x[0] for k, x in vectors.items()})
        return VideoState(state)

    def _fuse_instances(self, batch: dict, video: Tensor) -> Tensor:
        """StarVR: encode each OCR word separately (K words per video, padded with '') and fuse."""
        geometry = torch.as_tensor(batch["instance_geometry"], dtype=video.dtype).to(self.device)
        v, k = geometry.shape[:2]
        words = [list(row[:k]) + [""] * (k - len(row[:k])) for row in batch["instance_words"]]
        if k > self.cfg.max_instance_words:
            raise ValueError(f"{k} OCR words per video, but model.max_instance_words={self.cfg.max_instance_words}")
        default = [[bool(w) for w in row] for row in words]
        word_mask = _mask(batch.get("instance_mask", default), (v, k), self.device)
        feats = self.encode_text([w for row in words for w in row], "ocr").view(v, k, -1)
        return self.instance_fusion(video, feats, geometry, word_mask)

    # ---- TCD's query-dependent head ----------------------------------------------------------------------
    def _tcd_vectors(self, state: dict | VideoState, prep: dict, s: Tensor, r: Tensor) -> dict[str, Tensor]:
        """s, r [Q, V, N] text-condition scales of frames and windows (Q = 1 and s = mask without
        text-condition) -> video / ocr / hybrid vectors [Q, V, D]. Tokens are weighted, never rescaled
        (condition.py); without co-attention they stay [V, N, D], computed once per video."""
        frames, ocr = state["frames"], state["ocr"]
        frame_mask, ocr_mask = state["frame_mask"], state["ocr_mask"]
        if self.switches["co_attention"]:
            video, text = self.co_attention(prep, frames, ocr, s, r, frame_mask, ocr_mask)
        else:
            video, text = frames, ocr
        return dict(video=weighted_mean(video, s, frame_mask), ocr=weighted_mean(text, r, ocr_mask),
                    hybrid=self.clue(video, text, s, r, frame_mask, ocr_mask))

    @property
    def batched_head(self) -> bool:
        """Whether scoring runs TCD's head for all pairs as matmuls over per-video tensors (`_tcd_vectors_batched`):
        in eval mode without gradients, with CTCD (the plain cross-attention ablation goes token by token)."""
        return (self.video_kind == "tcd" and self.switches["text_condition"] and self.switches["ctcd"]
                and not self.training and not torch.is_grad_enabled())

    def prepare_scoring(self, videos: VideoState) -> VideoState:
        """`videos` plus the batched head's per-video tensors (computed once per video, reused by every query
        chunk); unchanged when the head is not batched."""
        if not self.batched_head or "clue_v_sq" in videos:
            return videos
        co_values, mix = None, {}
        if self.switches["co_attention"]:   # laid out for matmuls: kernels [V, Lx, H, Ly], values U [V, H·Ly, D]
            co_values = (videos["co_values_o"].flatten(1, 2).contiguous(), videos["co_values_v"].flatten(1, 2).contiguous())
            kernel = self.co_attention.mixing_kernel
            mix = dict(mix_kernel_vo=kernel(videos["co_logits_vo"], videos["ocr_mask"]), mix_values_o=co_values[0],
                       mix_kernel_ov=kernel(videos["co_logits_ov"], videos["frame_mask"]), mix_values_v=co_values[1])
        head = self.clue.prepare_batched(videos["frames"], videos["ocr"], co_values)
        return VideoState({**videos.tensors, **mix, **head})

    def _tcd_vectors_batched(self, videos: VideoState, s: Tensor, r: Tensor) -> dict[str, Tensor]:
        """`_tcd_vectors` for all pairs at once as matmuls over per-video tensors (exact; no per-pair [Q, V, N, D]
        token tensor is formed): Σ_i s_i Ṽ_i = Σ_i s_i F_i + (Σ_i s_i A_i) U, and CTCD reads Ṽ, Õ through
        `ClueDistilling.batched`."""
        videos = self.prepare_scoring(videos)
        frame_mask, ocr_mask = videos["frame_mask"], videos["ocr_mask"]
        s, r = s.transpose(0, 1), r.transpose(0, 1)                                       # videos first: [V, Q, N]
        to_ocr = to_video = None
        if self.switches["co_attention"]:
            to_ocr = self.co_attention.mixing(videos["mix_kernel_vo"], r)                 # A of Ṽ [V, Q, N, H·N]
            to_video = self.co_attention.mixing(videos["mix_kernel_ov"], s)

        def pooled(tokens: Tensor, scales: Tensor, mask: Tensor, mix: Tensor | None, values: str) -> Tensor:
            weights = scales * mask[:, None].to(scales.dtype)                             # [V, Q, N]
            total = weights @ tokens                                                      # [V, Q, D]
            if mix is not None:
                total = total + (weights[..., None, :] @ mix)[..., 0, :] @ videos[values]     # Σ_i s_i A_i, then U
            return total / mask.sum(-1)[:, None, None].to(tokens.dtype).clamp(min=1.0)

        vectors = dict(video=pooled(videos["frames"], s, frame_mask, to_ocr, "mix_values_o"),
                       ocr=pooled(videos["ocr"], r, ocr_mask, to_video, "mix_values_v"),
                       hybrid=self.clue.batched(videos.tensors, s, r, frame_mask, ocr_mask, to_ocr, to_video))
        return {name: x.transpose(0, 1) for name, x in vectors.items()}

    # ---- scoring -----------------------------------------------------------------------------------------
    def score(self, queries: Tensor, videos: VideoState) -> ScoreOutput:
        """Queries [Q, D] (encode_queries) x videos (encode_videos) -> ScoreOutput with sim [Q, V]."""
        t = queries.to(self.device)
        vectors = {k[4:]: x for k, x in videos.tensors.items() if k.startswith("vec_")}
        if self.video_kind == "xpool":
            vectors["video"] = self.xpool_video(t, videos["xpool_video_k"], videos["xpool_video_v"],
                                                videos["frame_mask"])
            if self.ocr_kind == "windows":
                has_text = videos["ocr_mask"].any(-1).to(t.dtype)[None, :, None]
                vectors["ocr"] = has_text * self.xpool_ocr(t, videos["xpool_ocr_k"], videos["xpool_ocr_v"],
                                                           videos["ocr_mask"])
        if self.video_kind == "tcd" and self.switches["text_condition"]:
            s = text_condition_scales(t, videos["frames"], videos["frame_mask"], self.cfg.tau)
            r = text_condition_scales(t, videos["ocr"], videos["ocr_mask"], self.cfg.tau)
            if self.batched_head:
                vectors = self._tcd_vectors_batched(videos, s, r)
            else:   # training (dropout, gradients) and the plain cross-attention ablation: token by token
                prep = {k: x for k, x in videos.tensors.items() if k.startswith("co_")}
                vectors = self._tcd_vectors(videos, prep, s, r)
        if self.ocr_kind == "instances":   # StarVR scores its fused video+OCR vector only
            vectors = {"fused": vectors["fused"]}
        parts = {name: cosine(t, vec) for name, vec in vectors.items()}
        return ScoreOutput(*self._mean_of_present(parts, videos))

    def _mean_of_present(self, parts: dict[str, Tensor], videos: VideoState) -> tuple[Tensor, dict[str, Tensor]]:
        """S = mean over the parts each video has (module docstring); missing parts are set to 0."""
        present = {}
        if "ocr" in parts:
            present["ocr"] = videos["ocr_mask"].any(-1)
        if "hybrid" in parts:
            present["hybrid"] = self.clue.has_hybrid(videos["frame_mask"], videos["ocr_mask"])
        sim = torch.zeros_like(next(iter(parts.values())))
        count = torch.zeros_like(sim)
        for name in list(parts):
            has = present[name].to(sim.dtype) if name in present else torch.ones_like(sim[0])
            parts[name] = parts[name] * has
            sim, count = sim + parts[name], count + has
        return sim / count, parts

    def training_loss(self, batch: dict) -> tuple[Tensor, dict[str, Tensor]]:
        """Symmetric InfoNCE over the in-batch B x B scores (+ λ·L_hsc for TCD with hsc on)."""
        queries, tensors = gather_batch(self.encode_queries(batch["queries"]), self.encode_videos(batch).tensors)
        videos = VideoState(tensors)   # under torchrun: every rank's rows, so every rank's negatives count
        out = self.score(queries, videos)
        nce = infonce(self.logit_scale * out.sim)
        loss, hsc = nce, torch.zeros((), device=self.device)
        if self.video_kind == "tcd" and self.switches["hsc"]:
            hsc = hsc_loss(videos["frames"], videos["ocr"], videos["frame_mask"], videos["ocr_mask"],
                           self.cfg.hsc_temperature, runs=videos["ocr_run"])
            loss = loss + self.cfg.hsc_lambda * hsc
        # detached tensors, not floats: the training loop syncs with the host only every train.log_every steps
        logs = dict(loss=loss.detach(), infonce=nce.detach(), hsc=hsc.detach(), logit_scale=self.logit_scale.detach())
        return loss, logs

    # ---- checkpoints -------------------------------------------------------------------------------------
    def reloadable_prefixes(self) -> tuple[str, ...]:
        """State-dict prefixes of frozen pretrained text towers: rebuilt from their source, not saved."""
        encoders = [("text.", self.text)] + ([("ocr_text.", self.ocr_text)] if self.ocr_text is not None else [])
        return tuple(f"{name}tower." for name, enc in encoders if enc.frozen and enc.tower.pretrained)

    def saved_state(self) -> dict[str, Tensor]:
        """The state_dict less the frozen pretrained text towers (rebuilt from their source): what a checkpoint and a
        resume state keep."""
        skip = self.reloadable_prefixes()
        return {k: v for k, v in self.state_dict().items() if not k.startswith(skip)}

    def load_saved_state(self, state: dict[str, Tensor], what: str) -> None:
        """Load a :meth:`saved_state`; any other key set is a ValueError that starts with ``what`` (the file and what
        it is) and names the keys beyond the reloadable towers."""
        missing, unexpected = self.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith(self.reloadable_prefixes())]
        if missing or unexpected:
            raise ValueError(f"{what} (missing {missing[:5]}, unexpected {unexpected[:5]})")

    def save(self, path: str | Path) -> None:
        """Weights as safetensors (:meth:`saved_state`), config + format in its metadata."""
        from safetensors.torch import save_file

        # cloned: safetensors refuses tensors that share storage (tied weights)
        state = {k: v.detach().cpu().clone().contiguous() for k, v in self.saved_state().items()}
        # one metadata key: safetensors writes several in a random order (safetensors#584), one gives the same bytes
        header = json.dumps(dict(format=CHECKPOINT_FORMAT, config=json.dumps(self.cfg.to_dict())), sort_keys=True)
        save_file(state, str(path), metadata={"tcd": header})


def _mask(mask, shape: tuple[int, int], device: torch.device) -> Tensor:
    if mask is None:
        return torch.ones(shape, dtype=torch.bool, device=device)
    mask = torch.as_tensor(np.asarray(mask, dtype=bool) if not isinstance(mask, Tensor) else mask).to(device)
    if tuple(mask.shape) != shape:
        raise ValueError(f"mask of shape {tuple(mask.shape)}, expected {shape}")
    return mask.bool()


def build_model(cfg: ModelConfig | dict, load_weights: bool = True) -> RetrievalModel:
    """A RetrievalModel for a ModelConfig (or the params.yaml `model:` dict); ``load_weights=False``: a pretrain
    checkpoint named by ``vision`` is not read (the caller loads the model's own weights)."""
    return RetrievalModel(cfg if isinstance(cfg, ModelConfig) else ModelConfig.from_dict(cfg), load_weights)


def read_checkpoint(path: str | Path) -> tuple[dict[str, Tensor], dict[str, str]]:
    """(CPU state_dict, metadata) of a `model.save` file; anything else (an older torch.save checkpoint, another
    program's file) is a ValueError naming the file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        state = load_file(str(path))
        metadata = json.loads(metadata["tcd"]) if "tcd" in metadata else metadata   # else saved before one key
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not a {CHECKPOINT_FORMAT} checkpoint (unreadable metadata: {err})") from None
    except (SafetensorError, OSError) as err:
        raise ValueError(f"{path}: not a {CHECKPOINT_FORMAT} checkpoint (not a safetensors file: {err}); "
                         "an older tcd checkpoint must be retrained (dvc repro train)") from err
    if metadata.get("format") != CHECKPOINT_FORMAT or "config" not in metadata:
        raise ValueError(f"{path}: not a {CHECKPOINT_FORMAT} checkpoint (format={metadata.get('format')!r})")
    return state, metadata


def checkpoint_config(metadata: dict[str, str]) -> ModelConfig:
    """The model config a checkpoint was saved with (`read_checkpoint`'s metadata)."""
    saved = json.loads(metadata["config"])
    saved.setdefault("vision_stem", "patch")   # saved before the knob existed: CLIP's patch embedding
    saved.setdefault("text_projection", "fresh")   # before the knob, the text projection always started fresh
    return ModelConfig.from_dict(saved)


def load_model(path: str | Path, map_location: str | torch.device = "cpu", num_frames: int | None = None) -> RetrievalModel:
    """Rebuild a model saved with `model.save(path)`; scores are reproduced exactly. ``num_frames``: take up to that
    many frames per video (the pretrain stage's one-frame model scores the study's videos; a model with per-frame
    parameters, seqTransf's positions, must keep its own)."""
    state, metadata = read_checkpoint(path)
    cfg = checkpoint_config(metadata)
    cfg = cfg if num_frames is None else dataclasses.replace(cfg, num_frames=num_frames)
    model = build_model(cfg, load_weights=False).to(map_location)
    model.load_saved_state(state, f"{path}: checkpoint does not match its config")
    return model
