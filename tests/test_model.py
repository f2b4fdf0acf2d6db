"""The model family: config rules, shapes and masks, invariances, gradients, overfitting, checkpoints.

All models here use a deliberately small configuration (32 px frames, 2-layer 64-wide vision transformer,
4 frames, D = 64) so that every variant trains on the CPU in seconds; the text tower is the real frozen
all-MiniLM-L6-v2 of the tiny preset.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tcd.model import VARIANTS, ModelConfig, build_model, load_model
from tcd.model.ctcd import ClueAttention, VideoOcrCoAttention, masked_softmax

N = 4
SMALL = dict(image_size=32, vision_patch=16, vision_layers=2, vision_width=64, vision_heads=2, num_frames=N,
             embed_dim=64, ctcd_heads=4, temporal_layers=1)


def small_model(variant: str, seed: int = 0, **overrides):
    torch.manual_seed(seed)
    return build_model(ModelConfig(variant=variant, **{**SMALL, **overrides}))


def make_batch(model, b: int = 4, seed: int = 0, k: int = 5) -> dict:
    """Distinct random frames and texts; video 1 has two padded frames, video 2 has no text at all,
    video 0 has empty windows, video 3 has no OCR words."""
    g = torch.Generator().manual_seed(seed)
    frames = torch.randint(0, 256, (b, N, 32, 32, 3), dtype=torch.uint8, generator=g)
    frame_mask = torch.ones(b, N, dtype=torch.bool)
    frame_mask[1 % b, 2:] = False
    captions = [[f"sign {i} window {j} shop {7 * i + j}" for j in range(N)] for i in range(b)]
    captions[0][1] = captions[0][3] = ""
    if b > 2:
        captions[2] = [""] * N
    words = [[f"word{i}x{j}" for j in range(k - i % 3)] for i in range(b)]
    if b > 3:
        words[3] = []
    word_mask = torch.tensor([[j < len(row) for j in range(k)] for row in words])
    return dict(frames=model.preprocess_frames(frames), frame_mask=frame_mask,
                queries=[f"the video number {i} shows item {3 * i + 1}" for i in range(b)],
                ocr_captions=captions, ocr_mask=torch.tensor([[bool(c) for c in row] for row in captions]),
                instance_words=words, instance_geometry=torch.rand(b, k, 12, generator=g), instance_mask=word_mask)


def scores(model, batch):
    with torch.no_grad():
        return model.score(model.encode_queries(batch["queries"]), model.encode_videos(batch))


# ---- config -------------------------------------------------------------------------------------------------

def test_config_resolves_switches_and_rejects_bad_values():
    assert ModelConfig().switches == dict(text_condition=True, hsc=True, co_attention=True, ctcd=True)
    assert ModelConfig(ctcd=False, hsc=False).switches == dict(text_condition=True, hsc=False,
                                                                co_attention=True, ctcd=False)
    assert not any(ModelConfig(variant="xpool", hsc=False).switches.values())
    with pytest.raises(ValueError, match="variant"):
        ModelConfig(variant="clip5clip")
    with pytest.raises(ValueError, match="applies to variant 'tcd' only"):
        ModelConfig(variant="clip4clip", hsc=True)
    with pytest.raises(ValueError, match="tau"):
        ModelConfig(tau=0)
    with pytest.raises(ValueError, match="unknown model parameter"):
        ModelConfig.from_dict(dict(variant="tcd", hsc_lambada=0.1))


def test_preprocess_frames_normalises_and_resizes():
    model = small_model("clip4clip")
    white = np.full((2, N, 48, 48, 3), 255, dtype=np.uint8)
    x = model.preprocess_frames(white)
    assert x.shape == (2, N, 3, 32, 32) and x.dtype == torch.float32
    expected = (1 - torch.tensor([0.48145466, 0.4578275, 0.40821073])) / torch.tensor([0.26862954, 0.26130258, 0.27577711])
    assert torch.allclose(x[0, 0, :, 5, 5], expected, atol=1e-5)


# ---- shapes, masks, invariances -----------------------------------------------------------------------------

PARTS = dict(clip4clip={"video"}, clip4clip_seqtransf={"video"}, xpool={"video"}, starvr={"fused"},
             clip4clip_wocr={"video", "ocr"}, xpool_wocr={"video", "ocr"}, tcd={"video", "ocr", "hybrid"})


@pytest.mark.parametrize("variant", VARIANTS)
def test_shapes_masks_and_padding_are_ignored(variant):
    model = small_model(variant).eval()
    batch = make_batch(model)
    out = scores(model, batch)
    assert out.sim.shape == (4, 4) and set(out.parts) == PARTS[variant]
    assert torch.isfinite(out.sim).all() and all(torch.isfinite(p).all() for p in out.parts.values())
    assert torch.allclose(out.sim, torch.stack(list(out.parts.values())).mean(0))
    if "ocr" in out.parts:   # video 2 has no text: its OCR score is defined as 0
        assert torch.all(out.parts["ocr"][:, 2] == 0)
    # what the masks hide does not matter: padded frames, masked windows, masked words
    changed = dict(batch, frames=batch["frames"].clone(), ocr_captions=[list(r) for r in batch["ocr_captions"]],
                   instance_words=[list(r) for r in batch["instance_words"]])
    changed["frames"][1, 2:] = torch.randn_like(changed["frames"][1, 2:])
    changed["ocr_captions"][0][1] = "some text the mask hides"
    changed["instance_words"][3] = ["hidden", "words"]
    assert torch.allclose(scores(model, changed).sim, out.sim, atol=1e-5)


@pytest.mark.parametrize("variant", VARIANTS)
def test_permuting_videos_permutes_scores(variant):
    model = small_model(variant).eval()
    batch = make_batch(model)
    perm = [2, 0, 3, 1]
    permuted = {key: ([value[i] for i in perm] if key != "queries" else value) for key, value in batch.items()}
    permuted = {key: (torch.stack(value) if isinstance(batch[key], torch.Tensor) else value)
                for key, value in permuted.items()}
    assert torch.allclose(scores(model, permuted).sim, scores(model, batch).sim[:, perm], atol=1e-5)


def test_gradients_reach_clue_tokens_and_type_embeddings():
    model = small_model("tcd").train()
    loss, logs = model.training_loss(make_batch(model))
    loss.backward()
    clue = model.clue
    for p in (clue.video_clue, clue.ocr_clue, clue.type_embedding):
        assert p.grad is not None and p.grad.abs().sum() > 0
    assert logs["hsc"] > 0 and math.isclose(logs["loss"], logs["infonce"] + 0.1 * logs["hsc"], rel_tol=1e-5)
    assert all(p.grad is None for p in model.text.tower.parameters())   # the frozen tower gets none


def test_frozen_text_features_are_memoised_once_per_process_outside_the_state_dict():
    model = small_model("tcd")
    model.encode_text(["a b", "a b", "c"])
    key = (SMALL.get("query_max_tokens", 32), "a b")
    assert {key, (key[0], "c")} <= set(model.text.memo)
    assert not any("memo" in k for k in model.state_dict())
    before = model.text.memo[key].clone()
    other = small_model("tcd", seed=2)
    assert other.text.memo is model.text.memo  # the same frozen pretrained tower: each string encoded once
    other.encode_text(["a b"])
    assert torch.equal(model.text.memo[key], before)


def test_text_condition_off_precomputes_all_vectors():
    model = small_model("tcd", text_condition=False).eval()
    assert not model.query_dependent
    state = model.encode_videos(make_batch(model))
    assert {"vec_video", "vec_ocr", "vec_hybrid"} <= set(state.tensors)


# ---- exactness of the factorised attention --------------------------------------------------------------------

def test_clue_attention_equals_plain_multihead_attention():
    torch.manual_seed(0)
    d, h = 32, 4
    attn = ClueAttention(d, h).eval()
    for p in attn.parameters():
        torch.nn.init.normal_(p, std=0.3)
    clue, x, mask = torch.randn(d), torch.randn(3, 5, 6, d), torch.rand(3, 5, 6) > 0.3
    mask[0, 0] = False
    q = attn.q(attn.norm_query(clue)).view(h, d // h)
    xn = attn.norm_kv(x)
    k = (xn @ attn.k.weight.T).unflatten(-1, (h, d // h))
    v = attn.v(xn).unflatten(-1, (h, d // h))
    logits = torch.einsum("hk,...nhk->...hn", q, k) / math.sqrt(d // h)
    weights = masked_softmax(logits, mask[..., None, :])
    naive = attn.out(torch.einsum("...hn,...nhk->...hk", weights, v).flatten(-2))
    assert torch.allclose(attn(clue, x, mask), naive, atol=1e-5)


def test_co_attention_equals_attention_on_conditioned_tokens():
    torch.manual_seed(0)
    d, h, n = 16, 2, 5
    co = VideoOcrCoAttention(d, h)
    for p in co.parameters():
        torch.nn.init.normal_(p, std=0.3)
    f, o = torch.randn(3, n, d), torch.randn(3, n, d)
    fm, om = torch.rand(3, n) > 0.2, torch.rand(3, n) > 0.4
    om[1] = False
    s, r = torch.rand(2, 3, n) * 2 * fm, torch.rand(2, 3, n) * 2 * om
    video, text = co(co.prepare(f, o), f, o, s, r, fm, om)

    def naive(i, x, y, sx, sy, my):   # plain MHA on the conditioned, normalised tokens
        xq = sx[..., None] * (co.norm_video if i == 0 else co.norm_ocr)(x)
        yk = sy[..., None] * (co.norm_ocr if i == 0 else co.norm_video)(y)
        q, k, v = (lin[i](t).unflatten(-1, (h, d // h)) for lin, t in ((co.q, xq), (co.k, yk), (co.v, yk)))
        w = masked_softmax(torch.einsum("qvxhk,qvyhk->qvhxy", q, k) / math.sqrt(d // h), my[None, :, None, None])
        return co.out[i](torch.einsum("qvhxy,qvyhk->qvxhk", w, v).flatten(-2))

    assert torch.allclose(video, s[..., None] * f + naive(0, f, o, s, r, om), atol=1e-5)
    assert torch.allclose(text, r[..., None] * o + naive(1, o, f, r, s, fm), atol=1e-5)


# ---- training and checkpoints -------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", VARIANTS)
def test_each_variant_overfits_eight_pairs(variant):
    """8 (query, video) pairs with random frames and distinct texts must reach R@1 = 100 quickly."""
    model = small_model(variant, seed=1)
    batch = make_batch(model, b=8, seed=1)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-3)
    for step in range(300):
        model.train()
        loss, _ = model.training_loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 20 == 19:
            sim = scores(model.eval(), batch).sim
            if torch.equal(sim.argmax(1), torch.arange(8)):
                break
    assert torch.equal(sim.argmax(1), torch.arange(8)), f"{variant}: R@1 < 100 after {step + 1} steps"


@pytest.mark.parametrize("variant", ["tcd", "starvr"])
def test_checkpoint_reload_reproduces_scores_exactly(tmp_path, variant):
    model = small_model(variant)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    batch = make_batch(model)
    for _ in range(2):   # move the weights away from their initialisation
        loss, _ = model.training_loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.save(tmp_path / "model.pt")
    reloaded = load_model(tmp_path / "model.pt")
    assert reloaded.cfg == model.cfg
    assert not any(k.startswith("text.tower.") for k in torch.load(tmp_path / "model.pt")["state_dict"])
    a, b = scores(model.eval(), batch), scores(reloaded.eval(), batch)
    assert torch.equal(a.sim, b.sim) and all(torch.equal(a.parts[k], b.parts[k]) for k in a.parts)
