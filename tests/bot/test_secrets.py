"""The token never leaks: not in reprs, logs, validation errors or tracebacks; .env stays out of git."""

from __future__ import annotations

import logging
import re
import traceback

import pytest

from bot.settings import Settings, SettingsError, load_settings

from ..conftest import ROOT

FAKE_TOKEN = "MTAxNTk0NjM3NzQ2MTI4NTk1Mg.Gx7Yq1.fake-token-for-tests-0123456789abcdef"
TOKEN_SHAPE = re.compile(r"[\w-]{20,}\.[\w-]{5,}\.[\w-]{20,}")


def _everything_about(settings: Settings) -> str:
    return "\n".join(
        [repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump()), f"{settings!r:>10}"]
    )


def test_the_token_is_a_secret_in_every_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", FAKE_TOKEN)
    settings = load_settings(_env_file=None)
    assert settings.discord_token is not None and settings.discord_token.get_secret_value() == FAKE_TOKEN
    assert FAKE_TOKEN not in _everything_about(settings)
    assert FAKE_TOKEN not in repr(settings.discord_token) and FAKE_TOKEN not in str(settings.discord_token)


@pytest.mark.parametrize(
    "bad",
    [{"TOP_K": "many"}, {"ANSWER_CHANNEL_IDS": "general"}, {"ALLOW_DMS": "perhaps"}, {"COOLDOWN_SECONDS": "-1"}],
)
def test_a_settings_error_names_the_variable_and_not_the_token(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, bad: dict[str, str]
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", FAKE_TOKEN)
    for name, value in bad.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    logging.getLogger("newsroom").exception("start-up failed", exc_info=caught.value)
    rendered = "".join(traceback.format_exception(caught.value)) + caplog.text
    assert next(iter(bad)) in str(caught.value)
    assert FAKE_TOKEN not in rendered and FAKE_TOKEN[:20] not in rendered


def test_a_token_that_is_itself_invalid_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even a validation error about the token itself (here: a list where a string belongs) hides it."""
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, discord_token=[FAKE_TOKEN])
    rendered = "".join(traceback.format_exception(caught.value))
    assert "DISCORD_TOKEN" in str(caught.value) and FAKE_TOKEN not in rendered


def test_dot_env_is_git_ignored_and_the_example_holds_no_secret() -> None:
    ignored = {line.strip() for line in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()}
    assert ".env" in ignored or "/.env" in ignored
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    values = dict(
        line.split("=", 1) for line in example.splitlines() if line.strip() and not line.lstrip().startswith("#")
    )
    assert values["DISCORD_TOKEN"].strip() == ""
    assert not TOKEN_SHAPE.search(example)
    assert all(len(value.strip()) < 40 for value in values.values()), values


def test_every_setting_is_documented_in_the_example() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^([A-Z_]+)=", example, flags=re.MULTILINE))
    assert {name.upper() for name in Settings.model_fields} <= documented


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("false", False), ("0", False), ("yes", True)])
def test_allow_dms_setting(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("ALLOW_DMS", raw)
    assert load_settings(_env_file=None).allow_dms is expected


async def test_a_failed_login_and_a_full_session_never_log_the_token(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path, built_index, library
) -> None:
    """Everything at DEBUG: a rejected token (401), then a real session (IDENTIFY carries the token) and a reply."""
    import asyncio

    import discord

    from bot import create_bot

    from ..conftest import CONTENT
    from ..support.botkit import make_settings
    from ..support.fake_discord import FakeDiscord

    caplog.set_level(logging.DEBUG)
    async with FakeDiscord(token=FAKE_TOKEN) as fake:
        fake.install(monkeypatch)
        wrong = FAKE_TOKEN[::-1]
        bot = create_bot(make_settings(built_index, CONTENT, discord_token=wrong), library)
        with pytest.raises(discord.LoginFailure) as failed:
            await asyncio.wait_for(bot.start(wrong), 30)
        await bot.close()
        rendered = "".join(traceback.format_exception(failed.value))
        assert wrong not in rendered and wrong not in caplog.text

        bot = create_bot(make_settings(built_index, CONTENT, discord_token=FAKE_TOKEN), library)
        task = asyncio.create_task(bot.start(FAKE_TOKEN))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 30)
            identify = await fake.wait_for_frame(op=2)
            assert identify.d["token"] == FAKE_TOKEN  # it was on the wire, so the logs had the chance to leak it
            await fake.dispatch(
                "MESSAGE_CREATE", fake.message_payload(f"<@{fake.bot_id}> hi", mentions=[fake.bot_user])
            )
            await fake.wait_for_request("POST", f"/channels/{fake.channel_id}/messages")
        finally:
            await bot.close()
            await asyncio.wait_for(task, 30)
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    assert FAKE_TOKEN not in caplog.text and FAKE_TOKEN.split(".")[0] not in caplog.text
