"""tcd-study: an open reference implementation of TCD (scene-text aware text-video retrieval).

The package is the engine; the notebooks in ``notebooks/`` are the narrative. Modules follow the
data flow: corpus -> video/ocr -> captioner -> model -> scoring -> eval.
"""

__version__ = "0.1.0"
