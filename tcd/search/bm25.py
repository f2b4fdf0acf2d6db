"""The string match of `tcd.lexical.bm25_scores`, indexed once per opened index instead of rebuilt per query.

`bm25_scores` builds a `bm25s` index of every document for each call, because its misread matching rewrites the
documents for the query words at hand: 0.3 s a query at 10,000 videos, 2.4 s at 100,000. Here the documents'
raw term frequencies are kept as a sparse [videos, words] matrix, and a query merges the columns of the OCR words
it takes as misreads of each of its words (the same rule, `tcd.lexical._misread_as`) before BM25's saturation:
the same numbers as `bm25_scores([query], documents, fuzzy=fuzzy)`, bit for bit (tested: ties must break alike),
one query at a time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import sparse

from tcd.lexical import STOPWORDS, _misread_as
from tcd.ocr import text_words


class Bm25Index:
    """BM25 (Lucene's variant, as `bm25s` scores it) over fixed documents: ``scores(query)`` -> float64 [V]."""

    def __init__(self, documents: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75):
        docs = [[w for w in doc if w not in STOPWORDS] for doc in documents]
        self.vocabulary = sorted({w for doc in docs for w in doc})
        self._vocabulary_set = frozenset(self.vocabulary)   # what misread matching reads, once, not per query
        self.word_id = {w: i for i, w in enumerate(self.vocabulary)}
        rows = np.repeat(np.arange(len(docs)), [len(d) for d in docs])
        cols = np.fromiter((self.word_id[w] for doc in docs for w in doc), dtype=np.int64, count=len(rows))
        # duplicates sum: a word shown by two tracks has tf 2
        self.tf = sparse.csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(docs), len(self.vocabulary)))
        lengths = np.array([len(d) for d in docs], dtype=np.float64)
        self.n = len(docs)
        average = lengths.mean() if len(docs) and lengths.any() else 1.0
        # bm25s's own expression and order of operations, so that scores (and their ties) are bit-identical
        self.norm = k1 * ((1 - b) + b * lengths / average)

    def terms(self, query: str, fuzzy: float | None) -> dict[str, list[int]]:
        """Each query word (stopwords dropped) -> the vocabulary columns counted as it: itself and its misreads."""
        words = sorted(text_words(query) - STOPWORDS)
        columns = {w: [self.word_id[w]] if w in self.word_id else [] for w in words}
        if fuzzy is not None and words and self.vocabulary:
            for ocr_word, word in _misread_as(self._vocabulary_set, set(words), fuzzy).items():
                columns[word].append(self.word_id[ocr_word])
        return columns

    def scores(self, query: str, fuzzy: float | None = None) -> np.ndarray:
        """BM25 of ``query`` against every document, float64 [V] (0 where no word matches)."""
        sim = np.zeros(self.n)
        for word, columns in self.terms(query, fuzzy).items():
            if not columns:
                continue
            tf = self.tf[:, columns].sum(axis=1).A1   # integer counts: exact in any order
            hit = np.flatnonzero(tf)
            df = len(hit)
            idf = math.log(1 + (self.n - df + 0.5) / (df + 0.5))
            sim[hit] += idf * (tf[hit] / (self.norm[hit] + tf[hit]))
        return sim
