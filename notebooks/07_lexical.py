# %% [markdown]
# # 07 · The floor: OCR string matching, no learning
#
# A reviewer's first question about a scene-text retrieval result: how far does plain string matching between
# the query and the OCR text get you? Each caption is scored against each video by BM25 over the video's OCR
# words (`tcd.lexical`: the `bm25s` library, Lucene's variant; one count per text instance; `bm25s`'s English
# stopwords dropped from captions and OCR words alike, since THE, IN, TO occur in subtitles and signs as well as
# in captions and would rank videos by noise), then evaluated with exactly the protocol and gallery of the
# learned models (`tcd.eval`). Two floors: with the EasyOCR tracks the models read (`lexical`) and with the
# corpus's ground-truth tracks (`lexical_gt`, what perfect OCR would give string matching). Every table of the
# report puts them beside the learned models.

# %% tags=["parameters"]
params_file = "params.yaml"  # the study's knobs; DVC tracks the sections this stage reads

# %%
import pandas as pd

from tcd.config import load_params
from tcd.lexical import evaluate_lexical

params = load_params(params_file)
floors = {"lexical": evaluate_lexical(params, variant="lexical"),
          "lexical_gt": evaluate_lexical(load_params(params_file, {"ocr.source": "provided"}), variant="lexical_gt")}
pd.concat({name: result["summary"] for name, result in floors.items()}, axis=1).round(2)

# %% [markdown]
# Text→video per domain (each caption ranked against the whole gallery):

# %%
pd.concat({name: result["per_domain"].set_index("group")["R@1"] for name, result in floors.items()}, axis=1).round(1)
