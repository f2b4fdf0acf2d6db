"""The model family: config rules, shapes and masks, invariances, gradients, overfitting, checkpoints.

All models here use a deliberately small configuration (32 px frames, 2-layer 64-wide vision transformer,
4 frames, D = 64) so that every variant trains on the CPU in seconds; the text tower is the real frozen
all-MiniLM-L6-v2 of the tiny preset.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from tcd.model import VARIANTS, ModelConfig, VideoState, build_model, load_model
from tcd.model.family import CHECKPOINT_FORMAT, read_checkpoint
from tcd.model.attention import Attention, masked_softmax, masked_softmax_short, scale_bias
from tcd.model.condition import text_condition_scales
from tcd.model.ctcd import ClueAttention, ClueDistilling, VideoOcrCoAttention

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
    expected = torch.stack(list(out.parts.values())).mean(0)
    if "ocr" in out.parts:   # video 2 has no text: no S_TO (0 in parts), S is the mean of its other parts
        assert torch.all(out.parts["ocr"][:, 2] == 0)
        expected[:, 2] = torch.stack([p[:, 2] for name, p in out.parts.items() if name != "ocr"]).mean(0)
    assert torch.allclose(out.sim, expected)
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


def test_a_memoised_feature_does_not_depend_on_the_batch_it_was_computed_in():
    """Bit for bit (a fresh clone's run must reproduce every score): alone, or first computed beside a longer string
    that would pad it, a string's frozen feature is the same."""
    model = small_model("starvr")
    encoder, word, longer = model.ocr_encoder, "gekus honey", "a much longer sign with many more words on it 24/7"
    features = []
    for context in ([word], [longer, word, "exit"], ["exit", word]):
        for s in context:
            encoder.memo.pop((model.cfg.ocr_max_tokens, s), None)
        features.append(encoder.tower_features(context, "ocr")[context.index(word)])
    assert all(torch.equal(f, features[0]) for f in features[1:])


def test_training_steps_on_a_frozen_tower_move_its_projection_and_never_its_backbone(tmp_path):
    from tcd.config import TrainConfig
    from tcd.train import cosine_with_warmup, make_optimizer, train_step

    small_model("clip4clip").save(tmp_path / "pretrained.pt")
    model = small_model("tcd", seed=1, vision=str(tmp_path / "pretrained.pt"), vision_tuning="frozen").train()
    backbone = {k: v.clone() for k, v in model.vision.backbone.state_dict().items()}
    projection = model.vision.projection.weight.clone()
    optimizer = make_optimizer(model, TrainConfig(lr=1e-2, pretrained_lr=1e-2))
    scheduler = cosine_with_warmup(optimizer, 0, 3)
    batch = make_batch(model)
    losses = [float(train_step(model, optimizer, scheduler, batch, 1.0, None)[0].detach()) for _ in range(3)]
    assert all(torch.equal(v, backbone[k]) for k, v in model.vision.backbone.state_dict().items())
    assert not torch.equal(model.vision.projection.weight, projection)
    assert losses[-1] < losses[0] and len(model.vision.memo) == 16   # 4 videos x 4 distinct frames, each once


def test_text_condition_off_precomputes_all_vectors():
    model = small_model("tcd", text_condition=False).eval()
    assert not model.query_dependent
    state = model.encode_videos(make_batch(model))
    assert {"vec_video", "vec_ocr", "vec_hybrid"} <= set(state.tensors)


def test_textless_video_scores_the_mean_of_the_parts_it_has():
    """Hand case (clip4clip_wocr): t = e0. Video 0 has text: S_TV = cos(e0, e0) = 1, S_TO = cos(e0, e0 + e1)
    = 1/√2, S = (1 + 1/√2)/2. Video 1 has none: S_TV = cos(e0, e0 + √3 e1) = 1/2 and S = S_TV (not 1/4)."""
    model = small_model("clip4clip_wocr").eval()
    e = torch.eye(64)
    videos = VideoState(dict(vec_video=torch.stack([e[0], e[0] + math.sqrt(3) * e[1]]),
                             vec_ocr=torch.stack([e[0] + e[1], torch.zeros(64)]),
                             frame_mask=torch.ones(2, N, dtype=torch.bool),
                             ocr_mask=torch.tensor([[True, False, True, True], [False] * N])))
    out = model.score(e[:1], videos)
    assert out.parts["ocr"].tolist() == [[pytest.approx(1 / math.sqrt(2)), 0.0]]
    assert out.sim.tolist() == [[pytest.approx((1 + 1 / math.sqrt(2)) / 2), pytest.approx(0.5)]]


@pytest.mark.parametrize("ctcd", [True, False])
def test_textless_tcd_video_scores_video_and_hybrid(ctcd):
    """Video 2 of make_batch has no text. CTCD: S = mean(S_TV, S_TH), the hybrid being the OCR clue's reading
    of the frames alone; plain cross-attention (ctcd: false) has no hybrid without text: S = S_TV."""
    model = small_model("tcd", ctcd=ctcd).eval()
    out = scores(model, make_batch(model))
    video, hybrid = out.parts["video"][:, 2], out.parts["hybrid"][:, 2]
    assert torch.allclose(out.sim[:, 2], (video + hybrid) / 2 if ctcd else video, atol=1e-6)
    assert (hybrid.abs().min() > 1e-3) if ctcd else torch.all(hybrid == 0)
    assert torch.allclose(out.sim[:, 0], (out.parts["video"] + out.parts["ocr"] + out.parts["hybrid"])[:, 0] / 3)


def test_ctcd_hybrid_of_a_textless_video_is_the_ocr_clue_alone():
    torch.manual_seed(0)
    d, n = 16, 5
    ctcd = ClueDistilling(d, 2).eval()
    video, ocr = torch.randn(3, n, d), torch.randn(3, n, d)
    s, r = torch.rand(3, n) + 0.5, torch.rand(3, n) + 0.5
    frame_mask, ocr_mask = torch.ones(3, n, dtype=torch.bool), torch.ones(3, n, dtype=torch.bool)
    ocr_mask[1] = False
    r[1] = 0.0
    hybrid = ctcd(video, ocr, s, r, frame_mask, ocr_mask)
    e_video, e_ocr = ctcd.type_embedding
    ocr_clue = ctcd.cross_attention(ctcd.ocr_clue + e_ocr, video + e_video, frame_mask, s.log())
    video_clue = ctcd.cross_attention(ctcd.video_clue + e_video, ocr + e_ocr, ocr_mask, scale_bias(r, ocr_mask))
    assert torch.allclose(hybrid[1], ocr_clue[1], atol=1e-6)
    assert torch.allclose(hybrid[[0, 2]], (ocr_clue + video_clue)[[0, 2]] / 2, atol=1e-6)


def test_encode_videos_records_caption_runs():
    model = small_model("tcd").eval()
    batch = make_batch(model, b=2)
    batch["ocr_captions"] = [["exit", "exit", "", "exit"], ["sale", "sale", "sale", "open"]]
    batch["ocr_mask"] = torch.tensor([[True, True, False, True], [True, True, True, True]])
    with torch.no_grad():
        state = model.encode_videos(batch)
    assert state["ocr_run"].tolist() == [[0, 0, 1, 2], [0, 0, 0, 1]]


# ---- the text-condition acts on every part --------------------------------------------------------------------

@pytest.mark.parametrize("co_attention,ctcd", [(False, True), (True, True), (False, False)])
def test_hybrid_depends_on_the_query(co_attention, ctcd):
    """The hybrid vector of one video must change with the query. It used to be conditioned by scaling tokens,
    s_i f_i, right before a LayerNorm, which undid it: here (random unit-variance tokens) the hybrid moved by
    ~1 % of its norm with CTCD (only through the small type embeddings added after the scaling) and ~1e-5
    without. Now s acts as an attention bias and the same change of query moves it by 45-80 %."""
    model = small_model("tcd", co_attention=co_attention, ctcd=ctcd).eval()
    g = torch.Generator().manual_seed(0)
    frames, ocr = torch.randn(2, N, 64, generator=g), torch.randn(2, N, 64, generator=g)
    mask = torch.ones(2, N, dtype=torch.bool)
    queries = torch.randn(2, 64, generator=g)
    with torch.no_grad():
        state = VideoState(dict(frames=frames, ocr=ocr, frame_mask=mask, ocr_mask=mask))
        prep = model.co_attention.prepare(frames, ocr) if co_attention else {}
        s = text_condition_scales(queries, frames, mask, model.cfg.tau)
        r = text_condition_scales(queries, ocr, mask, model.cfg.tau)
        assert (s.amax(-1) / s.amin(-1)).min() > 1.3   # the queries weight the tokens unevenly
        hybrid = model._tcd_vectors(state, prep, s, r)["hybrid"]
    change = (hybrid[0] - hybrid[1]).norm(dim=-1) / hybrid[0].norm(dim=-1)
    assert change.min() > 0.1, change


# ---- exactness of the factorised attention --------------------------------------------------------------------

def test_scale_bias_reweights_attention_by_the_scales():
    """Attention with key bias log s equals the attention whose weights are s_j exp(l_j), renormalised."""
    torch.manual_seed(0)
    d, h = 16, 2
    attn = Attention(d, h).eval()
    x, y = torch.randn(3, 4, d), torch.randn(3, 5, d)
    mask, scales = torch.rand(3, 5) > 0.3, torch.rand(2, 3, 5) * 3
    mask[1] = False
    q, k, v = (lin(t).unflatten(-1, (h, d // h)) for lin, t in ((attn.q, x), (attn.k, y), (attn.v, y)))
    e = torch.einsum("vxhk,vyhk->vhxy", q, k).div(math.sqrt(d // h)).exp()
    w = e * (scales * mask)[:, :, None, None, :]
    w = w / w.sum(-1, keepdim=True).clamp(min=1e-30)
    naive = attn.out(torch.einsum("qvhxy,vyhk->qvxhk", w, v).flatten(-2))
    assert torch.allclose(attn(x, y, mask, scale_bias(scales, mask)), naive, atol=1e-5)
    assert torch.equal(scale_bias(torch.ones(3, 5), mask), torch.zeros(3, 5))   # no condition, no bias


def test_clue_attention_equals_plain_multihead_attention():
    torch.manual_seed(0)
    d, h = 32, 4
    attn = ClueAttention(d, h).eval()
    for p in attn.parameters():
        torch.nn.init.normal_(p, std=0.3)
    clue, x, mask = torch.randn(d), torch.randn(5, 6, d), torch.rand(5, 6) > 0.3
    scales = torch.rand(3, 5, 6) * 2 * mask           # per (query, video) pair, x per video
    mask[0] = False
    q = attn.q(attn.norm_query(clue)).view(h, d // h)
    xn = attn.norm_kv(x)
    k = (xn @ attn.k.weight.T).unflatten(-1, (h, d // h))
    v = attn.v(xn).unflatten(-1, (h, d // h))
    logits = torch.einsum("hk,...nhk->...hn", q, k) / math.sqrt(d // h)
    weights = masked_softmax(logits + scale_bias(scales, mask)[..., None, :], mask[..., None, :])
    naive = attn.out(torch.einsum("...hn,...nhk->...hk", weights, v).flatten(-2))
    assert torch.allclose(attn(clue, x, mask, scale_bias(scales, mask)), naive, atol=1e-5)
    plain = attn.out(torch.einsum("...hn,...nhk->...hk", masked_softmax(logits, mask[..., None, :]), v).flatten(-2))
    assert torch.allclose(attn(clue, x, mask), plain, atol=1e-5)


def test_the_short_softmax_and_the_mixing_kernel_give_the_masked_softmax():
    """Scoring's exp/sum softmax and the co-attention's K_ij s_j / Σ_j K_ij s_j against hand-computed weights:
    logits (0, 1, 2) with the middle key masked give (1, 0, e²)/(1 + e²); a row without keys gives zeros."""
    e2 = math.exp(2.0)
    logits, mask = torch.tensor([[0.0, 1.0, 2.0], [5.0, 6.0, 7.0]]), torch.tensor([[True, False, True], [False] * 3])
    expected = torch.tensor([[1 / (1 + e2), 0.0, e2 / (1 + e2)], [0.0, 0.0, 0.0]])
    torch.testing.assert_close(masked_softmax_short(logits, mask), expected)
    torch.testing.assert_close(masked_softmax(logits, mask), expected)
    # co-attention: one video, one head, two query tokens, keys scaled by s = (2, 1, 1): weights ∝ s_j exp(l_ij)
    kernel = VideoOcrCoAttention.mixing_kernel(logits[None, None], mask[:1])          # [V=1, Lx=2, H=1, Ly=3]
    weights = VideoOcrCoAttention.mixing(kernel, torch.tensor([[[2.0, 1.0, 1.0]]]))   # [V=1, Q=1, Lx=2, H·Ly=3]
    torch.testing.assert_close(weights[0, 0], torch.tensor([[2 / (2 + e2), 0.0, e2 / (2 + e2)]] * 2))


def test_co_attention_equals_attention_reweighted_by_the_condition():
    """Ṽ = F + MHA(LN F -> LN O) with weights ∝ r_j exp(l_ij), Õ likewise with s, computed naively per pair."""
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

    def naive(i, x, y, sy, my):   # plain MHA on the normalised tokens, weights re-weighted by the keys' scales
        xq = (co.norm_video if i == 0 else co.norm_ocr)(x)
        yk = (co.norm_ocr if i == 0 else co.norm_video)(y)
        q, k, v = (lin[i](t).unflatten(-1, (h, d // h)) for lin, t in ((co.q, xq), (co.k, yk), (co.v, yk)))
        e = torch.einsum("vxhk,vyhk->vhxy", q, k).div(math.sqrt(d // h)).exp()
        w = e * (sy * my)[:, :, None, None, :]
        w = w / w.sum(-1, keepdim=True).clamp(min=1e-30)
        return co.out[i](torch.einsum("qvhxy,vyhk->qvxhk", w, v).flatten(-2))

    assert torch.allclose(video, f + naive(0, f, o, r, om), atol=1e-5)
    assert torch.allclose(text, o + naive(1, o, f, s, fm), atol=1e-5)
    assert (video[0] - video[1]).abs().max() > 0.1   # the queries' conditions really differ


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
    state, metadata = read_checkpoint(tmp_path / "model.pt")
    assert metadata["format"] == CHECKPOINT_FORMAT and not any(k.startswith("text.tower.") for k in state)
    for _ in range(8):   # the same weights, the same bytes (DVC hashes them; two metadata keys came in either order)
        reloaded.save(tmp_path / "again.pt")
        assert (tmp_path / "again.pt").read_bytes() == (tmp_path / "model.pt").read_bytes()
    a, b = scores(model.eval(), batch), scores(reloaded.eval(), batch)
    assert torch.equal(a.sim, b.sim) and all(torch.equal(a.parts[k], b.parts[k]) for k in a.parts)


def test_the_conv_stem_keeps_the_patch_grid_and_old_checkpoints_load_with_clips_patch_embedding(tmp_path):
    from safetensors.torch import load_file, save_file

    from tcd.model.encoders import ConvStem

    conv, patch = small_model("clip4clip"), small_model("clip4clip", vision_stem="patch")
    stem = conv.vision.backbone.embeddings.patch_embedding
    assert isinstance(stem, ConvStem) and not isinstance(patch.vision.backbone.embeddings.patch_embedding, ConvStem)
    pixels = torch.zeros(1, 3, 32, 32)
    assert stem(pixels).shape == patch.vision.backbone.embeddings.patch_embedding(pixels).shape == (1, 64, 2, 2)
    # two overlapping 3-px dots in one 16-px patch: CLIP's patch projection is affine in the pixels, the stem is not
    a, b = pixels.clone(), pixels.clone()
    a[..., 2:5, 2:5], b[..., 3:6, 3:6] = 1.0, 1.0
    linear = patch.vision.backbone.embeddings.patch_embedding
    with torch.no_grad():
        torch.testing.assert_close(linear(a) + linear(b) - linear(pixels), linear(a + b))
        assert not torch.allclose(stem(a) + stem(b) - stem(pixels), stem(a + b), atol=1e-4)
    # a checkpoint saved before the knob (no vision_stem in its config) had CLIP's patch embedding
    patch.save(tmp_path / "old.pt")
    _, metadata = read_checkpoint(tmp_path / "old.pt")
    config = json.loads(metadata["config"])
    del config["vision_stem"]
    save_file(load_file(tmp_path / "old.pt"), tmp_path / "old.pt", metadata={**metadata, "config": json.dumps(config)})
    assert load_model(tmp_path / "old.pt").cfg.vision_stem == "patch"
    with pytest.raises(ValueError, match="vision_stem='grid': expected conv or patch"):
        ModelConfig(vision_stem="grid")


def test_an_old_or_foreign_checkpoint_fails_naming_the_file(tmp_path):
    old = tmp_path / "model.pt"
    torch.save(dict(format="tcd-model/2", config={}, state_dict={}), old)   # what tcd wrote before safetensors
    with pytest.raises(ValueError, match=f"{old}: not a {CHECKPOINT_FORMAT} checkpoint .*retrained"):
        load_model(old)
    from safetensors.torch import save_file

    foreign = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(ValueError, match=f"{foreign}: not a {CHECKPOINT_FORMAT} checkpoint \\(format=None\\)"):
        load_model(foreign)


def test_a_checkpoint_or_resume_state_of_another_model_names_the_file_and_only_the_keys_that_differ(tmp_path):
    from safetensors.torch import save_file

    from tcd.train import load_resume_state, save_resume_state

    model = small_model("clip4clip")
    model.save(tmp_path / "model.pt")
    state, metadata = read_checkpoint(tmp_path / "model.pt")
    del state["log_logit_scale"]
    state["extra.weight"] = torch.zeros(2)
    save_file(state, str(tmp_path / "edited.pt"), metadata={"tcd": json.dumps(metadata)})
    # the frozen MiniLM is never in the file: it is not reported missing, the edited keys are
    with pytest.raises(ValueError, match=r"edited.pt: checkpoint does not match its config "
                                         r"\(missing \['log_logit_scale'\], unexpected \['extra.weight'\]\)"):
        load_model(tmp_path / "edited.pt")

    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    save_resume_state(tmp_path / "last.pt", model, optimizer, scheduler, np.random.default_rng(0), [], 0)
    other = small_model("tcd")
    with pytest.raises(ValueError, match=r"last.pt: a resume state of another model, delete it to train from the start"
                                         r" \(missing \['[^t][^']*'") as err:
        load_resume_state(tmp_path / "last.pt", other, optimizer, scheduler, np.random.default_rng(0))
    assert "tower" not in str(err.value).split("unexpected")[0]   # the frozen towers are rebuilt, never missing
    reloaded = small_model("clip4clip", seed=1)
    assert load_resume_state(tmp_path / "last.pt", reloaded, optimizer, scheduler, np.random.default_rng(0))[0] == 1
    assert torch.equal(reloaded.log_logit_scale, model.log_logit_scale) and \
        all(torch.equal(a, b) for a, b in zip(reloaded.saved_state().values(), model.saved_state().values()))
