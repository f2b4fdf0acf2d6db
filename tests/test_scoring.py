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
