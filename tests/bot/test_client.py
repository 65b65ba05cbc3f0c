"""The bot's engine plumbing without Discord: rebuilds run beside questions, the swap is atomic, the runner's guards."""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import threading
from pathlib import Path

import pytest

from bot import create_bot, runner
from bot.client import NewsroomBot
from index import Library, build_index
from index.embedder import Encoder

from ..conftest import CONTENT
from ..support.botkit import make_settings

QUESTION = "How many White Helmets are still trapped in Syria?"


async def test_questions_are_answered_while_a_rebuild_runs(
    monkeypatch: pytest.MonkeyPatch, library: Library, content_copy: Path, tmp_path: Path
) -> None:
    started, release = threading.Event(), threading.Event()

    def held_build(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        started.set()
        assert release.wait(30)
        return build_index(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("bot.client.build_index", held_build)
    bot = create_bot(make_settings(tmp_path / "index", content_copy), library)
    try:
        rebuild = asyncio.create_task(bot.rebuild())
        assert await asyncio.to_thread(started.wait, 30)
        assert bot.reindex_lock.locked() and bot.library is library
        asking = bot.run_blocking((await bot.get_library()).ask, QUESTION)
        answer = await asyncio.wait_for(asking, 60)  # not queued behind the held build
        assert answer.shows_quotes and bot.library is library
        release.set()
        report = await asyncio.wait_for(rebuild, 120)
        assert report.changed and report.stories == ["white-helmets-trapped-in-syria"]
        assert bot.library is not library and bot.library is not None
        assert (await bot.run_blocking(bot.library.ask, QUESTION)).quotes[0].paragraph == 1
    finally:
        release.set()
        await bot.close()


async def test_the_index_watch_outlives_a_failed_check_and_picks_up_the_next_build(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    built_index: Path,
    content_copy: Path,
    tmp_path: Path,
    encoder: Encoder,
) -> None:
    """A check that raises what no one expected (here, what tokenizers raises on a damaged tokenizer.json) is logged
    once; the watch goes on and the next good build is served without a restart."""
    index_dir = tmp_path / "index"
    shutil.copytree(built_index, index_dir, symlinks=True)
    bot = create_bot(make_settings(index_dir, content_copy, index_watch_seconds=0.02), Library.load(index_dir))
    live = bot.served.live
    assert live is not None
    reload, checks = live.reload, [0]

    def failing_at_first(**kwargs: bool) -> bool:
        checks[0] += 1
        if checks[0] <= 3:
            raise Exception("EOF while parsing a value at line 1 column 9")  # tokenizers raises a bare Exception
        return reload(**kwargs)

    monkeypatch.setattr(live, "reload", failing_at_first)
    watch = asyncio.create_task(bot.served.watch(bot.build_executor, paused=lambda: False, closed=bot.is_closed))
    try:
        with caplog.at_level("ERROR", logger="newsroom.bot"):
            for _ in range(500):  # bounded: today the first failure ends the watch
                if checks[0] > 3 or watch.done():
                    break
                await asyncio.sleep(0.02)
            (content_copy / "bridge.md").write_text(
                "---\ntitle: Bridge\nslug: bridge\nsources: [AP]\n---\n\nThe old rail bridge collapsed.\n"
            )
            await asyncio.to_thread(build_index, content_copy, index_dir, encoder=encoder)
            for _ in range(1500):
                if "bridge" in {s.slug for s in bot.stories} or watch.done():
                    break
                await asyncio.sleep(0.02)
        assert "bridge" in {s.slug for s in bot.stories} and not watch.done()
        assert [r.getMessage().count("EOF while parsing") for r in caplog.records] == [1]
    finally:
        watch.cancel()
        await bot.close()


def test_intents_follow_the_answer_channels(library: Library, built_index: Path) -> None:
    quiet: NewsroomBot = create_bot(make_settings(built_index, CONTENT), library)
    channels: NewsroomBot = create_bot(make_settings(built_index, CONTENT, answer_channel_ids="1,2"), library)
    assert not quiet.intents.message_content and channels.intents.message_content
    assert channels.answer_channel_ids == {1, 2}
    for bot in (quiet, channels):
        assert bot.allowed_mentions is not None and bot.allowed_mentions.to_dict() == {"parse": []}
        bot.executor.shutdown()
        bot.build_executor.shutdown()


def test_without_a_token_run_explains_how_to_get_one(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert runner.run_bot(make_settings(tmp_path, CONTENT)) == runner.EXIT_NO_TOKEN
    err = capsys.readouterr().err
    assert "Developer Portal" in err or "developers/applications" in err
    assert "scope=bot+applications.commands" in err and "permissions=83968" in err
    assert "Leave 'Message Content Intent' off" in err
    runner.run_bot(make_settings(tmp_path, CONTENT, answer_channel_ids="5"))
    assert "turn ON 'Message Content Intent'" in capsys.readouterr().err


def test_a_missing_index_is_explained_before_connecting(tmp_path: Path, built_index: Path) -> None:
    """The bot starts anyway (bot/serving.py), but the operator sees what is wrong and the command that fixes it."""
    warning = runner.index_warning(make_settings(tmp_path / "nothing", CONTENT, discord_token="abc.def.ghi"))
    assert warning is not None and f"newsroom-bot build --index {tmp_path / 'nothing'}" in warning
    assert runner.index_warning(make_settings(built_index, CONTENT)) is None


def test_the_token_never_reaches_the_log(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    token = "MTIz.secret-token.value"
    handler = runner.configure_logging(make_settings(tmp_path, CONTENT, discord_token=token))
    try:
        log = logging.getLogger("newsroom.test")
        log.warning("connecting with %s", token)
        log.warning(f"inline {token}")
        try:
            raise RuntimeError(f"bad token {token}")
        except RuntimeError:
            log.exception("failed")
    finally:
        logging.getLogger().removeHandler(handler)
    err = capsys.readouterr().err
    assert token not in err and err.count("[token]") == 3


def test_the_thread_switch_interval_is_lowered_only_while_run_bot_runs(
    monkeypatch: pytest.MonkeyPatch, library: Library, built_index: Path, tmp_path: Path
) -> None:
    """Creating a bot (a test, a REPL) leaves the interpreter alone; `run_bot` lowers the interval, then restores it."""
    default = sys.getswitchinterval()
    bot = create_bot(make_settings(built_index, CONTENT), library)
    bot.executor.shutdown()
    bot.build_executor.shutdown()
    assert sys.getswitchinterval() == default
    during: list[float] = []

    async def serve(bot: NewsroomBot, token: str) -> None:
        during.append(sys.getswitchinterval())

    monkeypatch.setattr(runner, "serve", serve)
    monkeypatch.setattr(runner, "configure_logging", lambda settings: None)
    for ms, expected in ((0.5, 0.0005), (0, default), (50, default)):  # 0: Python's own; never raised above it
        settings = make_settings(tmp_path / "index", CONTENT, discord_token="abc.def.ghi", thread_switch_ms=ms)
        assert runner.run_bot(settings) == runner.EXIT_OK
        assert during.pop() == pytest.approx(expected) and sys.getswitchinterval() == default
