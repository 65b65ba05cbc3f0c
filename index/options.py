"""`EngineOptions`: everything a face's settings tell the engine, as one object.

A face (the bot, the command line, a notebook) maps its settings to one `EngineOptions` once
(`bot.settings.Settings.engine_options()`) and hands the same object to `build_index`, `Library.load` and
`LiveLibrary`; a new engine setting is then one field here and one line in that mapping, not a keyword that every
face must pass alike. Each consumer takes what concerns it: a build what the index is made of, serving the model
the index must have been built with and the threads per ONNX call.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from .cross_encoder import CROSS_ENCODER_NONE
from .embedder import ADAPTER_AUTO, DEFAULT_MODEL


class EngineOptions(BaseModel):
    """What to build with and how to serve; the defaults are the engine's own (and the settings' defaults)."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    model: str = DEFAULT_MODEL  # the embedding model; serving refuses an index built with another (IndexMismatch)
    adapter: str | None = ADAPTER_AUTO  # "auto", "none" or an adapter .npz, merged before export (index.adapter)
    cross_encoder: str | None = (
        CROSS_ENCODER_NONE  # "none", "auto" or a cross-encoder .npz, exported beside the index (index.cross_encoder)
    )
    quantization: str | None = None  # "int8" or "fp32": the ONNX model that embeds; None: int8
    index_type: str = "auto"  # the FAISS index kind (index.vectors.choose_type)
    model_cache: Path | None = None  # where exports are made once per model; None: export_cache.default_cache()
    database: str | None = Field(default=None, repr=False)  # DATABASE_URL: builds go to PostgreSQL (never shown)
    encoder_threads: int = Field(default=1, ge=0)  # threads per ONNX call when serving; 0: every core
