"""TCD and its baselines: `build_model(ModelConfig(variant=...))`; see family.py for the whole picture."""
from tcd.model.config import PRESETS, VARIANTS, ModelConfig
from tcd.model.family import RetrievalModel, ScoreOutput, VideoState, build_model, load_model

__all__ = ["ModelConfig", "VARIANTS", "PRESETS", "RetrievalModel", "ScoreOutput", "VideoState", "build_model",
           "load_model"]
