"""newsroom-bot's engine: stories in, verbatim attributed quotes out. Knows nothing of Discord."""

from .build import BuildLocked, BuildReport, build_index
from .cleaning import clean_question
from .embedder import DEFAULT_MODEL, ModelNotFound, load_encoder
from .library import Library, UnknownStory
from .live import LiveLibrary
from .models import Answer, AnswerStatus, Quote, Story, StoryInfo, Summary, paragraph_hash
from .refs import RefState, RefStatus
from .store import IndexCorrupt, IndexMismatch, IndexMissing, IndexProblem
from .stories import StoryError, load_stories, parse_story

__all__ = [
    "DEFAULT_MODEL",
    "Answer",
    "AnswerStatus",
    "BuildLocked",
    "BuildReport",
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
    "Story",
    "StoryError",
    "StoryInfo",
    "Summary",
    "UnknownStory",
    "build_index",
    "clean_question",
    "load_encoder",
    "load_stories",
    "paragraph_hash",
    "parse_story",
]
