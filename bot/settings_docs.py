"""`.env.example` and `docs/configuration.md`, generated from the `Settings` fields: the settings documented once.

Each field's description in bot/settings.py is the text; its default is the example value; its type and bounds give
the allowed values. After changing a setting, regenerate both files from the repository root:

    python -m bot.settings_docs --write

(`--env-example` or `--markdown` print one of them.) tests/bot/test_settings_docs.py fails while a committed file
differs from what the fields say.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo

from .settings import Settings

ENV_EXAMPLE = Path(".env.example")
MARKDOWN = Path("docs/configuration.md")
WIDTH = 116
FIRST_SECTION = "Running the bot"
GENERATED = "Generated from the Settings fields in bot/settings.py by `python -m bot.settings_docs --write`."


def _sections() -> list[tuple[str, list[tuple[str, FieldInfo]]]]:
    """Fields in declaration order, grouped where a field's `json_schema_extra` starts a new section."""
    sections: list[tuple[str, list[tuple[str, FieldInfo]]]] = [(FIRST_SECTION, [])]
    for name, field in Settings.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if "section" in extra:
            sections.append((str(extra["section"]), []))
        sections[-1][1].append((name, field))
    return sections


def example_value(field: FieldInfo) -> str:
    """The default as it would be written in `.env`: empty for none, true/false, 60 rather than 60.0."""
    default = field.get_default(call_default_factory=True)
    if default is None or default == []:
        return ""
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return str(default)


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else str(value)


def allowed(schema: dict[str, Any]) -> str:
    """What a variable accepts, read from its JSON schema: choices, a range, ids, a path, true/false."""
    if "anyOf" in schema:
        parts = [allowed(s) for s in schema["anyOf"] if s.get("type") != "null"]
        empty = any(s.get("type") == "null" for s in schema["anyOf"])
        return " or ".join(parts) + (", or empty" if empty else "")
    if "enum" in schema or "const" in schema:
        return " / ".join(str(v) for v in schema.get("enum", [schema.get("const")]))
    kind = schema.get("type")
    if kind == "array":
        return "comma-separated " + ("Discord ids" if allowed(schema["items"]) == "a Discord id" else "numbers")
    if schema.get("minimum") == 1 and schema.get("exclusiveMaximum") == 2**63:
        return "a Discord id"
    if kind in ("integer", "number"):
        if "minimum" in schema and "maximum" in schema:
            return f"{_number(schema['minimum'])} to {_number(schema['maximum'])}"
        signs = {"minimum": "≥", "exclusiveMinimum": ">", "maximum": "≤", "exclusiveMaximum": "<"}
        return ", ".join(f"{sign} {_number(schema[key])}" for key, sign in signs.items() if key in schema) or "a number"
    if kind == "boolean":
        return "true / false"
    if schema.get("format") == "password":
        return "secret text"
    if schema.get("format") == "path":
        return "a folder or file path"
    return "text"


def env_example() -> str:
    """The `.env.example` file: each variable with its description as a comment and its default as the value."""
    lines = [
        "# Copy to .env and fill in. Every variable is optional except DISCORD_TOKEN for running on Discord.",
        f"# {GENERATED}",
    ]
    for i, (section, fields) in enumerate(_sections()):
        lines += [""] + ([f"# {section}"] if i else [])
        for name, field in fields:
            lines += textwrap.wrap(field.description or "", WIDTH - 2, initial_indent="# ", subsequent_indent="# ")
            lines.append(f"{name.upper()}={example_value(field)}")
    return "\n".join(lines) + "\n"


def markdown() -> str:
    """docs/configuration.md: one table per section (variable, default, values, what it does)."""
    properties = Settings.model_json_schema()["properties"]
    out = [
        "# Configuration",
        "",
        "Settings come from the environment and from `.env` in the folder the bot runs in (`cp .env.example .env`). "
        "Each setting is a field of `Settings` in [bot/settings.py](../bot/settings.py); this page and "
        "[.env.example](../.env.example) are generated from those fields. Names and choices are read in any case; an "
        "invalid value stops start-up with one line naming the variable. Secrets (`DISCORD_TOKEN`, "
        "`QUESTION_LOG_SALT`) are never logged.",
        "",
        "The ones to set first are in the README's [Run it on Discord](../README.md#run-it-on-discord); running "
        "several processes, rebuilding and the question log are in [operations.md](operations.md) and "
        "[editors.md](editors.md).",
        "",
        f"<!-- {GENERATED} -->",
    ]
    for section, fields in _sections():
        out += ["", f"## {section}", "", "| Variable | Default | Values | What it does |", "|---|---|---|---|"]
        for name, field in fields:
            default = example_value(field)
            cells = [
                f"`{name.upper()}`",
                f"`{default}`" if default else "(empty)",
                allowed(properties[name]),
                (field.description or "").replace("|", "\\|"),
            ]
            out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.settings_docs", description=__doc__.split("\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--env-example", action="store_true", help="print .env.example")
    which.add_argument("--markdown", action="store_true", help="print docs/configuration.md")
    which.add_argument("--write", action="store_true", help="write both files (run from the repository root)")
    args = parser.parse_args(argv)
    if args.write:
        ENV_EXAMPLE.write_text(env_example(), encoding="utf-8")
        MARKDOWN.parent.mkdir(exist_ok=True)
        MARKDOWN.write_text(markdown(), encoding="utf-8")
        print(f"wrote {ENV_EXAMPLE} and {MARKDOWN}")
    else:
        sys.stdout.write(env_example() if args.env_example else markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
