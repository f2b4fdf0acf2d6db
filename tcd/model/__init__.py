"""TCD and its baselines: `build_model(ModelConfig(variant=...))`; see family.py for the whole picture.

The model classes load lazily, so that reading the study's params (tcd.config -> ModelConfig) does not
import torch and transformers."""
from tcd.model.config import PRESETS, VARIANTS, ModelConfig

__all__ = ["ModelConfig", "VARIANTS", "PRESETS", "RetrievalModel", "ScoreOutput", "VideoState", "build_model",
           "load_model"]


def __getattr__(name: str):
    if name in __all__:
        from tcd.model import family
        return getattr(family, name)
    raise AttributeError(f"module 'tcd.model' has no attribute {name!r}")
