"""Every error the engine raises on purpose, in one place (all re-exported by `index`).

Each message says what went wrong and what to do, so a caller (the CLI, the bot, a notebook) can show it as it
is. Every one is an `EngineError`: a face catches that one class to say the message and carry on, and anything
else that escapes the engine is a bug. Narrower catches: `IndexProblem` for "the index cannot be served",
`StoryError` for one bad story file, `ModelNotFound` for a model that is not on this machine. Each class also
keeps the built-in base it had before the root (ValueError, KeyError, RuntimeError), so older callers that catch
those still work.
"""

from __future__ import annotations

import difflib
from pathlib import Path


def printable(name: str) -> str:
    """A file name as it can be printed, logged and sent anywhere: bytes that are not UTF-8 (Python keeps them as
    lone surrogates) shown as \\xNN escapes, so an error about such a file never fails to be said."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class EngineError(Exception):
    """The root of every error the engine raises on purpose; its message is meant for the person at the face."""


class IndexProblem(EngineError, RuntimeError):
    """The index cannot be used; the message says why and how to rebuild."""


class IndexMissing(IndexProblem):
    """No index (or no part of one the index names, such as its ONNX export) where one was expected."""


class IndexCorrupt(IndexProblem):
    """An index file is damaged or unreadable."""


class IndexMismatch(IndexProblem):
    """The index was built for another model, quantisation, dimension or format than the one asked for."""


class BuildLocked(EngineError, RuntimeError):
    """Another build holds the index's lock; the message names the holder."""


class StoryError(EngineError, ValueError):
    """A story file that cannot be used, with the file and line an editor should look at."""

    def __init__(self, file: Path | str, message: str, line: int | None = None) -> None:
        self.file = printable(str(file))
        self.line = line
        self.reason = message
        where = f"{self.file}:{line}" if line else self.file
        super().__init__(f"{where}: {message}")


SHOWN_STORIES = 5  # an index may hold 10,000 stories: a message names a few, not all


def in_all(known: list[str]) -> str:
    """What a message naming a few of the stories adds: how many there are, and where to see them all."""
    return f"{len(known):,} in all; `newsroom-bot stories` lists them"


class StoryNeeded(EngineError, ValueError):
    """Several stories are indexed and the call named none (a summary); the message names the first few."""

    def __init__(self, known: list[str]) -> None:
        self.known = known
        listed = ", ".join(known[:SHOWN_STORIES]) + (f"; {in_all(known)}" if len(known) > SHOWN_STORIES else "")
        super().__init__(f"{len(known):,} stories are indexed: name one ({listed})")


class UnknownStory(EngineError, KeyError):
    """A story slug that is not in the index; `known` lists the slugs that are."""

    SHOWN = SHOWN_STORIES  # the closest first

    def __init__(self, slug: str, known: list[str]) -> None:
        self.slug = slug
        self.known = known
        if len(known) <= self.SHOWN:
            listed = f"known stories: {', '.join(known) or 'none'}"
        else:
            close = difflib.get_close_matches(slug, known, n=self.SHOWN)
            names = close + [k for k in known if k not in close][: self.SHOWN - len(close)]
            lead = f"did you mean {', '.join(names)}?" if close else f"known stories include {', '.join(names)}"
            listed = f"{lead} ({in_all(known)})"
        super().__init__(f"no story {slug!r}; {listed}")

    def __str__(self) -> str:
        return str(self.args[0])


class ModelNotFound(EngineError, RuntimeError):
    """The configured model is not on this machine; the message says what to install or set."""


class AdapterError(EngineError, ValueError):
    """The adapter file is unreadable or does not fit the model; the message says which and what to do."""


class ExportMissing(EngineError, RuntimeError):
    """The ONNX export an index names is not on disk (deleted, or copied without it)."""


class ExportDamaged(ExportMissing):
    """A file of the ONNX export does not match the checksum its encoder.json records (truncated, overwritten)."""


class CrossEncoderError(EngineError, ValueError):
    """The cross-encoder file is unreadable or does not fit the model; the message says which and what to do."""


class CrossEncoderExportMissing(EngineError, RuntimeError):
    """The cross-encoder export an index names is not on disk; the message says what to do."""


class WeightsError(EngineError, ValueError):
    """A ranker weights file that is unreadable or was fitted for other features; the message says what to rerun."""


class SchemaTooNew(EngineError, RuntimeError):
    """The database was written by a newer version of the bot; refuse rather than guess."""


class DatabaseUnavailable(IndexProblem):
    """PostgreSQL (DATABASE_URL) cannot be reached now: down, restarting, or the network. Worth trying again."""


class DatabaseMisconfigured(IndexProblem):
    """PostgreSQL answered but refuses this setup (password, database name, no pgvector): trying again won't help.
    The message says what to change and never shows the password."""
