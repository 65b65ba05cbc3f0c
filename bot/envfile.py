"""The `.env` file checked before pydantic-settings reads it, so a broken one stops start-up naming its file and line.

python-dotenv, which reads the file for pydantic-settings, forgives too much to leave alone: a line it can't parse
(a quote left open) is skipped with a warning that names no file, together with every line up to the next one it
can read; a quote closed lines later swallows the settings between into one value; a stray control character (a
NUL after the token) stays inside the value, so Discord's login fails with nothing pointing at the file. And a
file saved as UTF-16 or Latin-1 stopped every command with a bare UnicodeDecodeError. Each of these is refused
here with the file, the line and what to do. A value is never shown: the file holds the token.
"""

from __future__ import annotations

import io
from collections.abc import Collection
from pathlib import Path

from dotenv.parser import parse_stream

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def env_file_problems(path: Path, settings: Collection[str]) -> list[str]:
    """What is wrong with the .env file at `path` (nothing if it is absent), one `FILE:LINE: ...` line each.

    `settings` are the setting names (lower case): only their values are checked for control characters, since
    the file may also hold other tools' variables, whose values may span lines."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        return [f"{path}: can't be read ({exc.strerror or exc}); fix its permissions or remove it"]
    if raw.startswith(UTF16_BOMS):
        return [f"{path}: saved as UTF-16; save it as UTF-8 (the settings in it can't be read)"]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return [f"{path}:{line}: not UTF-8 text (byte {raw[exc.start]:#04x}); save the file as UTF-8"]
    problems = []
    for binding in parse_stream(io.StringIO(text)):
        where = f"{path}:{binding.original.line}"
        if binding.error:
            problems.append(
                f"{where}: can't be read as NAME=value (a quote left open?), and the lines after it are skipped up "
                "to the next one that can be: fix the line"
            )
        elif (
            binding.key
            and binding.key.lower() in settings
            and (problem := _control_character(binding.key, binding.value))
        ):
            problems.append(f"{where}: {problem}")
    return problems


def _control_character(name: str, value: str | None) -> str | None:
    if not value:
        return None
    if "\n" in value or "\r" in value:
        return (
            f"{name.upper()}'s quoted value runs on past its line, taking in the lines after it (a quote left "
            "open?): close the quote on this line"
        )
    if bad := next((ch for ch in value if (ch < " " and ch != "\t") or ch == "\x7f"), None):
        return f"{name.upper()} holds the control character U+{ord(bad):04X} (a stray byte?); remove it"
    return None
