"""Settings: choices in any case, every number inside a sensible range, each refusal naming its variable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings, SettingsError, load_settings


@pytest.mark.parametrize(
    ("name", "value", "field", "expected"),
    [
        ("LOG_LEVEL", "debug", "log_level", "DEBUG"),
        ("LOG_LEVEL", " Warning ", "log_level", "WARNING"),
        ("REPLY_STYLE", "EMBED", "reply_style", "embed"),
        ("REPLY_STYLE", "Plain", "reply_style", "plain"),
        ("QUANTIZATION", "FP32", "quantization", "fp32"),
        ("INDEX_TYPE", "HNSW", "index_type", "hnsw"),
        ("SHARD_IDS", "0", "shard_ids", [0]),
        ("COOLDOWN_SECONDS", "86400", "cooldown_seconds", 86400.0),
        ("DISCORD_GUILD_ID", "123456789012345678", "discord_guild_id", 123456789012345678),
        ("CROSS_ENCODER_MODEL", "auto", "cross_encoder_model", "auto"),
        ("READER_MODEL", "auto", "cross_encoder_model", "auto"),  # its name until the rename, read for a release
    ],
)
def test_choices_are_read_in_any_case_and_edge_values_are_kept(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, field: str, expected: object
) -> None:
    monkeypatch.setenv(name, value)
    if name == "SHARD_IDS":
        monkeypatch.setenv("SHARD_COUNT", "2")
    assert getattr(load_settings(_env_file=None), field) == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("COOLDOWN_SECONDS", "inf"),
        ("COOLDOWN_SECONDS", "nan"),
        ("COOLDOWN_SECONDS", "1e9"),
        ("COOLDOWN_SECONDS", "0"),
        ("COOLDOWN_QUESTIONS", "1000000"),
        ("COOLDOWN_QUESTIONS", "0"),
        ("THREAD_SWITCH_MS", "1e9"),
        ("THREAD_SWITCH_MS", "-1"),
        ("THREAD_SWITCH_MS", "inf"),
        ("INDEX_WATCH_SECONDS", "inf"),
        ("INDEX_WATCH_SECONDS", "1e12"),
        ("QUESTION_LOG_RETENTION_DAYS", "10000000"),
        ("QUESTION_LOG_RETENTION_DAYS", "-1"),
        ("DISCORD_GUILD_ID", "-5"),
        ("DISCORD_GUILD_ID", "0"),
        ("DISCORD_GUILD_ID", str(2**64)),
        ("ANSWER_CHANNEL_IDS", "123,-5"),
        ("ADMIN_ROLE_IDS", "0"),
        ("SHARD_COUNT", "1000000"),
        ("TOP_K", "4"),
        ("LOG_LEVEL", "loud"),
        ("REPLY_STYLE", "html"),
    ],
)
def test_every_number_is_bounded_and_a_refusal_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=None)
    (line,) = str(refused.value).splitlines()[1:]
    assert line.strip().startswith(f"{name}: ") and "Traceback" not in str(refused.value)


def test_every_numeric_setting_has_an_upper_and_a_lower_bound() -> None:
    """A new numeric setting must say its range (read from the settings' JSON schema, lists and optionals too)."""

    def numbers(schema: dict[str, Any]) -> list[dict[str, Any]]:
        found = [schema] if schema.get("type") in ("integer", "number") else []
        for sub in [*schema.get("anyOf", []), *([schema["items"]] if "items" in schema else [])]:
            found += numbers(sub)
        return found

    checked = []
    for name, schema in Settings.model_json_schema()["properties"].items():
        if name == "shard_count":  # a number or "auto": bounded in its validator (tested above)
            continue
        for number in numbers(schema):
            assert {"minimum", "exclusiveMinimum"} & set(number), f"{name.upper()} has no lower bound"
            assert {"maximum", "exclusiveMaximum"} & set(number), f"{name.upper()} has no upper bound"
            checked.append(name)
    assert {"cooldown_seconds", "thread_switch_ms", "discord_guild_id", "answer_channel_ids", "shard_ids"} <= set(
        checked
    )


TOKEN = "MTIz.fake-token.for-tests"  # not a real token: the refusals below must never show it


@pytest.mark.parametrize(
    ("content", "line", "says"),
    [
        (f"DISCORD_TOKEN={TOKEN}\x00\nTOP_K=2\n".encode(), 1, "control character U+0000"),
        (f'TOP_K=2\nDISCORD_TOKEN="{TOKEN}\x00\nTOP_K=2"\n'.encode(), 2, "runs on past its line"),
        (f'DISCORD_TOKEN={TOKEN}\nREPLY_STYLE="plain\nTOP_K=2\nINDEX_DIR="x"\n'.encode(), 2, "quote left open"),
        (f"DISCORD_TOKEN={TOKEN}\nTOP_K=2\n".encode("utf-16"), None, "UTF-16"),
        (f"DISCORD_TOKEN={TOKEN}\nTOP_K=2\nINDEX_DIR=caf\xe9\n".encode("latin-1"), 3, "not UTF-8"),
    ],
)
def test_a_broken_env_file_is_refused_naming_the_file_and_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: bytes, line: int | None, says: str
) -> None:
    """Issue 19 item 5: a NUL kept in the token, an unclosed quote dropping the settings after it, and a UTF-16 or
    Latin-1 .env stopping every command without naming the file."""
    env = tmp_path / ".env"
    env.write_bytes(content)
    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=env)
    message = str(refused.value)
    assert f"{env}:{line}:" in message if line else f"{env}:" in message, message
    assert says in message and TOKEN not in message and "Traceback" not in message


def test_a_token_with_a_control_character_is_refused_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", f"{TOKEN}\nTOP_K=2")  # a trailing line break is harmless: login strips it
    with pytest.raises(SettingsError, match=r"DISCORD_TOKEN: .*control character") as refused:
        load_settings(_env_file=None)
    assert TOKEN not in str(refused.value)


def test_an_ordinary_env_file_is_read_as_before(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    text = f'\ufeffTOP_K=2\n# a comment\nexport DISCORD_TOKEN=\'{TOKEN}\'\n\nREPLY_STYLE="plain"  # inline\nOTHER_TOOL="a\nb"\n'
    env.write_text(text, encoding="utf-8")  # a UTF-8 BOM, as Notepad writes one
    settings = load_settings(_env_file=env)
    assert settings.discord_token is not None and settings.discord_token.get_secret_value() == TOKEN
    assert settings.top_k == 2 and settings.reply_style == "plain"
