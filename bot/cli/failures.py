"""How the command line fails: one line that says what is wrong and what to do, and an exit code; never a traceback.

Exit codes: 0 done; 1 something in the data or the machine is wrong (no index, a bad story or batch line, a
folder that can't be written, a damaged question log); 2 the command itself is wrong (a bad option or setting).
"""

from __future__ import annotations

import errno
import os

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class CommandError(Exception):
    """A mistake the user can fix: `main` prints `error: <message>` and exits with `code`."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


def _where(exc: OSError) -> str:
    name = exc.filename
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    return str(name) if name is not None else ""


def describe_os_error(exc: OSError, doing: str = "") -> str:
    """`exc` as one line for an operator: the path, what the system said, and what to do about it.

    `doing` says what the command was doing ("writing the index"), so the line reads as a sentence."""
    where, said = _where(exc) or "a file", exc.strerror or str(exc)
    prefix = f"{doing}: " if doing else ""
    match exc.errno:
        case errno.ENOSPC | errno.EDQUOT:
            device = f"the device holding {where}" if _where(exc) else "the device"
            return f"{prefix}no space left on {device}: free some space and run the command again"
        case errno.EROFS:
            return f"{prefix}{where} is on a read-only file system: choose a writable folder, or remount it read-write"
        case errno.EACCES | errno.EPERM:
            return f"{prefix}not allowed to use {where} ({said}): give this user access, or choose another folder"
        case errno.EISDIR:
            return f"{prefix}{where} is a folder; give a file"
        case errno.ENOTDIR:
            return f"{prefix}{where}: part of that path is a file, not a folder; choose another path"
        case errno.ENOENT:
            return f"{prefix}{where} does not exist"
        case _:
            return f"{prefix}{where}: {said}"


def check_text(value: str | None, what: str) -> None:
    """Refuse an argument the shell passed as bytes that aren't UTF-8 (Python keeps them as lone surrogates)."""
    if value is not None and any("\udc80" <= ch <= "\udcff" for ch in value):
        raise CommandError(
            f"{what} holds bytes that aren't UTF-8 text; set the terminal or script to UTF-8", EXIT_USAGE
        )


def explain(exc: Exception) -> tuple[str, int]:
    """The one line and the exit code for an exception that reached the command line."""
    from index import EngineError

    from ..editorial.questionlog import QuestionLogError
    from ..settings import SettingsError

    if isinstance(exc, CommandError):
        return str(exc), exc.code
    if isinstance(exc, SettingsError):
        return str(exc), EXIT_USAGE
    if isinstance(exc, EngineError | QuestionLogError):  # raised on purpose, with a message that says what to do
        return str(exc), EXIT_ERROR
    if isinstance(exc, OSError):
        return (describe_os_error(exc) if exc.errno is not None else str(exc)), EXIT_ERROR
    return (
        f"unexpected {type(exc).__name__}: {exc}. This is a bug in newsroom-bot; run the command again with "
        "--debug to see where it happened, and report it",
        EXIT_ERROR,
    )
