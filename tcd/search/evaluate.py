"""How often search finds a caption's video, with the caption as written and with its scene text misread."""

from __future__ import annotations

import numpy as np

from tcd.search.index import SearchIndex
from tcd.search.query import ranked

# OCR's usual confusions, tried in this order: the first letter of the word found in it is replaced once
LOOKALIKES = {"I": "l", "O": "0", "S": "5", "E": "3", "B": "8", "G": "6", "L": "1", "A": "4", "Z": "2", "T": "7"}


def misspell(word: str) -> str | None:
    """The word with its first OCR-confusable letter replaced (GRILL -> GRlLL, TESCO -> TESC0); None when the word
    has none or is shorter than five letters (`tcd.lexical`'s 0.8 similarity admits no edit below five)."""
    if len(word) < 5:
        return None
    for letter, lookalike in LOOKALIKES.items():
        at = word.upper().find(letter)
        if at >= 0:
            return word[:at] + lookalike + word[at + 1:]
    return None


def misspelt_caption(caption: str) -> str | None:
    """The caption with its longest quoted scene-text word misspelt (`misspell`), or None when it quotes none."""
    from tcd.corpus.textvr import quoted_tokens

    words = sorted({w for token in quoted_tokens(caption) for w in token.split()}, key=lambda w: (-len(w), w))
    for word in words:
        wrong = misspell(word)
        if wrong is not None:
            return caption.replace(word, wrong, 1)
    return None


def found_at(index: SearchIndex, captions: list[str], video_rows: list[int], k: int = 10, weight: float = 0.0,
             k_shortlist: int = 200, fuzzy: float | None = 0.8) -> np.ndarray:
    """bool [C]: whether each caption's video (its index row) is among the top ``k`` hits."""
    results = ranked(index, captions, weight, k_shortlist, fuzzy)
    return np.array([row in set(rows[:k].tolist()) for (rows, *_), row in zip(results, video_rows)])


def misread_table(index: SearchIndex, captions: list[str], video_rows: list[int], k: int = 10, weight: float = 0.0,
                  k_shortlist: int = 200, fuzzy: float = 0.8) -> dict:
    """Found in the top ``k`` for the captions that quote a misspellable word: as written, misspelt without fuzzy
    matching, misspelt with it (the share of those captions, and how many there are)."""
    pairs = [(c, misspelt_caption(c), r) for c, r in zip(captions, video_rows)]
    pairs = [p for p in pairs if p[1] is not None]
    if not pairs:
        return {"captions": 0}
    right, wrong, rows = map(list, zip(*pairs))
    share = lambda qs, fz: float(found_at(index, qs, rows, k, weight, k_shortlist, fz).mean())
    return {"captions": len(pairs), "as_written": share(right, fuzzy), "misspelt_exact_words": share(wrong, None),
            "misspelt_fuzzy": share(wrong, fuzzy), "k": k, "fuzzy": fuzzy, "weight": weight,
            "examples": [{"caption": c, "misspelt": w} for c, w, _ in pairs[:3]]}
