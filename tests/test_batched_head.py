"""The batched scoring head (TCD's `_tcd_vectors_batched`, the chunked `score_all_pairs`) equals a straightforward
per-pair reference: every (query, video) pair scored alone through the modules' token-by-token forward (the
training path), on a tiny model whose weights are all perturbed at random (co-attention's zero-initialised output,
the LayerNorms' unit gains and zero biases would otherwise hide terms)."""
from __future__ import annotations

import pytest
import torch

from tcd.model import VideoState
from tcd.scoring import score_all_pairs
from tests.test_model import make_batch, small_model

CASES = [("tcd", {}), ("tcd", dict(co_attention=False)), ("tcd", dict(ctcd=False)), ("tcd", dict(hsc=False)),
         ("tcd", dict(text_condition=False)), ("tcd", dict(co_attention=False, ctcd=False)), ("xpool", {}),
         ("xpool_wocr", {})]


def _random_model(variant: str, **switches):
    model = small_model(variant, seed=11, **switches)
    g = torch.Generator().manual_seed(12)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not name.startswith(("text.tower", "vision.")):
                p.add_(torch.randn(p.shape, generator=g) * 0.3)
    return model.eval()


def _per_pair(model, queries, videos) -> dict[str, torch.Tensor]:
    """Each pair alone, through the token-by-token modules (gradients on: the path training takes)."""
    out: dict[str, torch.Tensor] = {}
    with torch.enable_grad():
        for q in range(len(queries)):
            for v in range(len(videos)):
                pair = model.score(queries[q:q + 1], videos.index([v]))
                for name, x in [("sim", pair.sim), *pair.parts.items()]:
                    out.setdefault(name, torch.zeros(len(queries), len(videos)))[q, v] = x[0, 0].detach()
    return out


@pytest.mark.parametrize("variant,switches", CASES)
def test_batched_scores_equal_the_per_pair_reference(variant, switches):
    model = _random_model(variant, **switches)
    first, second = make_batch(model, b=4, seed=5), make_batch(model, b=3, seed=6)   # textless, padded, empty windows
    with torch.no_grad():
        videos = VideoState.cat([model.encode_videos(first), model.encode_videos(second)])
        queries = model.encode_queries(first["queries"] + second["queries"] + ["shop sign"])
    reference = _per_pair(model, queries, videos)
    batched = score_all_pairs(model, queries, videos, query_chunk=3, video_chunk=4)   # blocks of 3 x 4 pairs
    assert model.batched_head is False   # outside no_grad; inside score_all_pairs it is on for TCD with CTCD
    for name, x in [("sim", batched.sim), *batched.parts.items()]:
        torch.testing.assert_close(x, reference[name], rtol=1e-5, atol=1e-7, msg=f"{variant} {switches} {name}")


def test_the_batched_head_is_used_for_scoring_tcd_and_keeps_the_video_state():
    model = _random_model("tcd")
    batch = make_batch(model, b=4, seed=5)
    with torch.no_grad():
        videos = model.encode_videos(batch)
        assert model.batched_head
        prepared = model.prepare_scoring(videos)
        assert {"clue_v_gram", "clue_o_mix_proj", "mix_kernel_vo"} <= set(prepared.tensors)
        assert model.prepare_scoring(prepared) is prepared and len(prepared) == 4
    model.train()
    assert not model.batched_head and model.prepare_scoring(videos) is videos
