"""The environment the Hugging Face libraries read, set by the engine only when it is about to load one of them.

No machine this bot runs on is assumed to reach a model hub, and a notebook that imports `index` should not find
its whole process switched offline: so importing the engine changes no environment variable, and each function
that imports sentence-transformers, transformers, huggingface_hub or tokenizers calls `hub_offline()` first.
Each variable is a default: one the caller has set is left as it is.
"""

from __future__ import annotations

import os

DEFAULTS = {
    "HF_HUB_OFFLINE": "1",  # huggingface_hub reads it once, when it is first imported
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # transformers' "Loading weights" bar on every load
    "TOKENIZERS_PARALLELISM": "false",  # one question's tokens are not worth a thread pool (read at each call)
}


def hub_offline() -> None:
    """Before a Hugging Face library is imported: no hub, no progress bars, no tokenizer thread pool."""
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
