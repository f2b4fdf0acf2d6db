"""The search index's BM25 (`tcd.search.bm25.Bm25Index`) against the floor's own `tcd.lexical.bm25_scores`."""

import math

import numpy as np
import pytest

from tcd.lexical import bm25_scores
from tcd.search.bm25 import Bm25Index


def test_a_misread_counts_as_the_word_hand_computed():
    # the case of test_lexical's test_fuzzy_counts_a_misread_as_the_word: video 0 shows TESCO and TESC0, video 1 TESCO
    index = Bm25Index([["TESCO", "TESC0"], ["TESCO"]])
    idf = math.log(1 + 0.5 / 2.5)
    norm = {2: 1.5 * (0.25 + 0.75 * 2 / 1.5), 1: 1.5 * (0.25 + 0.75 * 1 / 1.5)}
    np.testing.assert_allclose(index.scores("tesco"), [idf / (1 + norm[2]), idf / (1 + norm[1])], rtol=1e-12)
    np.testing.assert_allclose(index.scores("TESCO", fuzzy=0.8), [idf * 2 / (2 + norm[2]), idf / (1 + norm[1])],
                               rtol=1e-12)
    assert index.terms("the TESCO", fuzzy=0.8) == {"TESCO": [1, 0]}   # THE dropped; TESCO (column 1), then TESC0 (0)


@pytest.mark.parametrize("fuzzy", [None, 0.8, 0.6])
def test_equal_to_the_floor_query_by_query(fuzzy):
    rng = np.random.default_rng(3)
    words = ["GRILL", "GR1LL", "GRlLL", "TESCO", "TESC0", "TESO", "EXPRESS", "THE", "IN", "OPEN", "0PEN", "2020",
             "SALE", "SALES", "CAFE", "CAF"]
    docs = [list(rng.choice(words, rng.integers(0, 7))) for _ in range(40)] + [[], ["THE", "IN"]]
    queries = ["the sign says GRILL", "TESCO express", "OPEN sale 2020", "nothing matches here", "in the", "CAFE"]
    index = Bm25Index(docs)
    for query in queries:
        # bit for bit: BM25 ties are common (same words, same length) and a 1e-16 difference would break them
        np.testing.assert_array_equal(index.scores(query, fuzzy), bm25_scores([query], docs, fuzzy=fuzzy)[0],
                                      err_msg=query)
    assert index.scores("the sign says GRILL", fuzzy).max() > 0 and not index.scores("in the").any()


def test_empty_index_and_textless_videos_score_zero():
    assert Bm25Index([]).scores("GRILL").shape == (0,)
    np.testing.assert_array_equal(Bm25Index([[], ["THE"]]).scores("GRILL the", fuzzy=0.8), [0.0, 0.0])
