"""Training our whole model (NLU + dialogue policies) and its size.

* train_seconds: wall time of `rasa train --domain bot/domain --data nlu_data stories --config
  config.yml --fixed-model-name account-assistant --out <temp>` with an empty Rasa training cache
  (RASA_CACHE_DIRECTORY in the temp folder), i.e. a whole training from scratch.
* model_mb: size of the resulting .tar.gz in MB (10^6 bytes).

The model is trained once per bench run (tests/bench/rasa_env.py) and reused by nlu, turn, turns.
"""

from __future__ import annotations

from . import Figures, benchmark
from .rasa_env import train_ours


@benchmark("train")
def run_train() -> Figures:
    return {"train_seconds": round(train_ours()[1], 1)}


@benchmark("model")
def run_model() -> Figures:
    return {"model_mb": round(train_ours()[0].stat().st_size / 1e6, 1)}
