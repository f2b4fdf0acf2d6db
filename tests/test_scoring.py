"""All-pairs chunked scoring equals the naive full score matrix for every variant."""
from __future__ import annotations

import pytest
import torch

from tcd.model import VARIANTS, VideoState
from tcd.scoring import score_all_pairs
from tests.test_model import make_batch, small_model


@pytest.mark.parametrize("variant", VARIANTS)
def test_chunked_scoring_equals_naive(variant):
    model = small_model(variant, seed=3).eval()
    # 7 videos in two encode calls, joined with VideoState.cat; 9 queries (more than the videos)
    first, second = make_batch(model, b=4, seed=3), make_batch(model, b=3, seed=4)
    with torch.no_grad():
        videos = VideoState.cat([model.encode_videos(first), model.encode_videos(second)])
        queries = model.encode_queries(first["queries"] + second["queries"] + ["a b c", "shop sign"])
        naive = model.score(queries, videos)
    chunked = score_all_pairs(model, queries, videos, query_chunk=4, video_chunk=3)
    assert chunked.sim.shape == (9, 7) and set(chunked.parts) == set(naive.parts)
    assert torch.allclose(chunked.sim, naive.sim, atol=1e-5)
    for name in naive.parts:
        assert torch.allclose(chunked.parts[name], naive.parts[name], atol=1e-5)
    # a tiny memory budget forces one query at a time for the query-dependent variants
    tight = score_all_pairs(model, queries, videos, video_chunk=5, max_pair_floats=1)
    assert torch.allclose(tight.sim, naive.sim, atol=1e-5)


def test_state_index_and_cat_round_trip():
    model = small_model("tcd").eval()
    with torch.no_grad():
        videos = model.encode_videos(make_batch(model))
    again = VideoState.cat([videos.index(slice(0, 1)), videos.index(slice(1, None))])
    assert len(again) == len(videos) == 4
    assert all(torch.equal(again[k], videos[k]) for k in videos.tensors)


def test_auto_chunks_from_free_memory_give_the_fixed_chunks_scores():
    from types import SimpleNamespace

    from tcd.scoring import auto_chunks

    # 10 videos of 16 bytes; a quarter of 6400 B: 800 B for videos (all 10 fit), 800 B = 200 floats per block,
    # 8 floats per pair (no pair intermediates) -> 200 // (10 * 8) = 2 queries a block
    state = VideoState({"a": torch.zeros(10, 4)})
    assert auto_chunks(SimpleNamespace(pair_floats=0, head_floats=0), 7, state, free_bytes=6400) == (2, 10, 200)
    assert auto_chunks(SimpleNamespace(pair_floats=0, head_floats=0), 7, state, free_bytes=640) == (1, 5, 20)
    model = small_model("tcd", seed=3).eval()
    batch = make_batch(model, b=5, seed=3)
    with torch.no_grad():
        videos, queries = model.encode_videos(batch), model.encode_queries(batch["queries"] + ["shop sign"])
    fixed = score_all_pairs(model, queries, videos, query_chunk=2, video_chunk=3)
    auto = score_all_pairs(model, queries, videos, query_chunk=0, video_chunk=0)
    assert auto.sim.device.type == "cpu" and set(auto.parts) == set(fixed.parts)
    assert torch.allclose(auto.sim, fixed.sim, atol=1e-6)
    assert all(torch.allclose(auto.parts[k], fixed.parts[k], atol=1e-6) for k in fixed.parts)
