"""Search your own videos with a trained checkpoint: index, query, explain, two-stage retrieval.

    tcd index ROOT --checkpoint CKPT --out INDEX     encode every video of a TextVR-layout root once
    tcd search INDEX "the sign says GRILL" [--json]  rank them: the model's score fused with the OCR string match

An index holds what `RetrievalModel.encode_videos` returns (the query-independent VideoState) and what
`tcd.lexical`'s BM25 reads (each video's OCR words), so a query costs only the model's query-dependent
head (`RetrievalModel.score`) and one BM25 pass: nothing of the model or of the string match is copied here.
"""

from tcd.search.index import SearchIndex, SearchIndexError, build_index, open_index
from tcd.search.query import Hit, fusion_weight, search

__all__ = ["Hit", "SearchIndex", "SearchIndexError", "build_index", "fusion_weight", "open_index", "search"]
