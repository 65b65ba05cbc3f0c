"""newsroom-bot's engine: stories in, verbatim attributed quotes out. Knows nothing of Discord.

What callers use is named here; the submodules are the engine's inside (training and benchmarks read some of
them as documented tooling). Every error the engine raises on purpose comes from `index.errors`, is named here,
and is an `EngineError`: a face catches that one class.

Building (`build_index`, `BuildReport`), reading story files (`load_stories`, `parse_story`) and `LiveLibrary` are
imported on first use (`__getattr__`): their modules (the ONNX export, YAML, file locks) are a tenth of a second
of every `ask` process's start-up that asking never needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import postgres
from .cleaning import clean_question
from .embedder import DEFAULT_MODEL, CachedEncoder, Encoder, EncoderWrapper, load_encoder
from .errors import (
    AdapterError,
    BuildLocked,
    CrossEncoderError,
    CrossEncoderExportMissing,
    DatabaseMisconfigured,
    DatabaseUnavailable,
    EngineError,
    ExportDamaged,
    ExportMissing,
    IndexCorrupt,
    IndexMismatch,
    IndexMissing,
    IndexProblem,
    ModelNotFound,
    SchemaTooNew,
    StoryError,
    StoryNeeded,
    UnknownStory,
    WeightsError,
)
from .library import MAX_QUESTION_CHARS, Library
from .models import Answer, AnswerStatus, Quote, Story, StoryInfo, Summary, paragraph_hash
from .options import EngineOptions
from .pgstore import DatabaseIndex
from .refs import RefState, RefStatus
from .store import resolve_build

if TYPE_CHECKING:
    from .build import BuildReport, build_index
    from .live import LiveLibrary
    from .stories import load_stories, parse_story

_LAZY = {
    "BuildReport": "build",
    "build_index": "build",
    "LiveLibrary": "live",
    "load_stories": "stories",
    "parse_story": "stories",
}

__all__ = [
    "DEFAULT_MODEL",
    "MAX_QUESTION_CHARS",
    "AdapterError",
    "Answer",
    "AnswerStatus",
    "BuildLocked",
    "BuildReport",
    "CachedEncoder",
    "CrossEncoderError",
    "CrossEncoderExportMissing",
    "DatabaseIndex",
    "DatabaseMisconfigured",
    "DatabaseUnavailable",
    "Encoder",
    "EncoderWrapper",
    "EngineError",
    "EngineOptions",
    "ExportDamaged",
    "ExportMissing",
    "IndexCorrupt",
    "IndexMismatch",
    "IndexMissing",
    "IndexProblem",
    "Library",
    "LiveLibrary",
    "ModelNotFound",
    "Quote",
    "RefState",
    "RefStatus",
    "SchemaTooNew",
    "Story",
    "StoryError",
    "StoryInfo",
    "StoryNeeded",
    "Summary",
    "UnknownStory",
    "WeightsError",
    "build_index",
    "clean_question",
    "load_encoder",
    "load_stories",
    "paragraph_hash",
    "parse_story",
    "postgres",
    "resolve_build",
]


def __getattr__(name: str) -> Any:
    """The names in `_LAZY`, imported from their module when first asked for (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value  # found directly from now on
    return value
