"""The bot's life around its index and its process: start without an index, follow new builds, stop cleanly.

- Start: the index is loaded (and checked) as an `index.LiveLibrary` while the gateway connects. A missing or
  unusable index does not stop the bot: it comes online, tells readers it has no stories yet and how an admin
  fixes that, and logs the exact command. A newsroom would rather see "not ready" than a bot that crash-loops
  under its process supervisor, and the first build is picked up without a restart.
- Watch: every INDEX_WATCH_SECONDS the `current` build is checked (a stat); a new build made by
  `newsroom-bot build` is loaded off the loop and swapped in. A corrupt or mismatched one is refused and the
  last good index keeps answering.
- Stop: on SIGTERM (or Ctrl-C) the bot takes no new questions, lets the answers in flight finish (up to
  SHUTDOWN_GRACE seconds), then closes: gateway, HTTP session, executors and the question log, in that order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import discord

from index import LiveLibrary

if TYPE_CHECKING:
    from .client import NewsroomBot

log = logging.getLogger("newsroom.bot")
# Without a usable index, readers are told to come back; only those who can fix it are told how.
NOT_READY = "I'm not ready to answer yet: my stories aren't loaded. Please try again shortly."
NOT_READY_ADMIN = (
    "I can't answer yet: no stories are indexed here. Run `/reindex` (or `newsroom-bot build` on the server) "
    "and I'll start answering without a restart; the bot's log says what went wrong."
)
RESTARTING = "I'm restarting right now. Please ask again in a minute."
SHUTDOWN_GRACE = 30.0
# Where discord.py runs the work a question starts: message listeners and application commands.
ANSWER_TASK_NAMES = ("discord.py: on_message", "CommandTree-invoker")


class LibraryUnavailable(RuntimeError):
    """No usable index (the start-up load failed): questions get `not_ready_text` until a build is swapped in."""


def not_ready_text(bot: NewsroomBot, user: discord.abc.User) -> str:
    """What `user` is told while there is no usable index: how to fix it if they may run `/reindex`."""
    return NOT_READY_ADMIN if bot.is_admin(user) else NOT_READY


@contextlib.contextmanager
def thread_switch_interval(ms: float) -> Iterator[None]:
    """Python's thread switch interval lowered to `ms` (THREAD_SWITCH_MS; never raised) while the bot runs.

    The loop thread hands the GIL to busy engine threads for every socket call; at Python's default 5 ms it then
    waits up to 5 ms to get it back, which throttled replies under load (benchmarks/README.md, "Load"). The setting
    is process-wide, so `run_bot` scopes it to the run and restores it after: creating a bot in a test or a REPL
    leaves the interpreter alone. 0 keeps Python's own interval.
    """
    before = sys.getswitchinterval()
    if ms > 0:
        sys.setswitchinterval(min(before, ms / 1000))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


async def load_live(bot: NewsroomBot) -> None:
    """Open the index as a LiveLibrary; without a usable one, stay up and say what to run."""
    started = time.perf_counter()
    try:
        bot.live = await bot.run_blocking(
            LiveLibrary, bot.settings.index_dir, expect_model=bot.settings.model, check_interval=math.inf
        )
    except Exception as exc:  # e.g. the model is not installed: same policy, say why
        bot.load_error = exc
    else:
        if bot.live.ready:
            await bot.swap_library(bot.live.library)
        else:
            bot.load_error = bot.live.problem
    if bot.load_error is None:
        log.info("loaded the index in %.1f s", time.perf_counter() - started)
    else:
        log.error(
            "no usable index: %s. The bot stays up and tells readers; build the index (newsroom-bot build --index %s, "
            "or /reindex) and it is picked up without a restart.",
            bot.load_error,
            bot.settings.index_dir,
        )


async def watch_index(bot: NewsroomBot) -> None:
    """Swap in builds made outside the bot; bounded by the bot's life.

    Nothing a build can do ends the watch: LiveLibrary refuses a build it cannot load (and logs that once), and
    anything else that goes wrong in one check is logged once and the next check goes on.
    """
    interval = bot.settings.index_watch_seconds
    failed = ""
    while not bot.is_closed():
        await asyncio.sleep(interval)
        live = bot.live
        if live is None or bot.reindex_lock.locked() or bot.draining:
            continue
        try:
            if await bot.run_blocking(live.reload, executor=bot.build_executor):
                log.info("a new index build appeared (%s); swapping it in", live.build)
                await bot.swap_library(live.library)
            failed = ""
        except Exception as exc:  # the watch must outlive any one bad check
            if bot.is_closed():  # the executor was shut down: the bot is closing
                return
            if str(exc) != failed:
                log.error(
                    "checking %s for a new build failed (%s: %s); still watching",
                    live.index_dir,
                    type(exc).__name__,
                    exc,
                )
            failed = str(exc)


def answers_in_flight() -> list[asyncio.Task[object]]:
    current = asyncio.current_task()
    return [
        task for task in asyncio.all_tasks() if task is not current and task.get_name().startswith(ANSWER_TASK_NAMES)
    ]


async def shutdown(bot: NewsroomBot, grace: float = SHUTDOWN_GRACE) -> None:
    """Take no new questions, let the answers in flight finish, then close."""
    if bot.draining:
        return
    bot.draining = True
    pending = answers_in_flight()
    if pending:
        log.info("shutting down: finishing %d answer(s) in flight", len(pending))
        _, unfinished = await asyncio.wait(pending, timeout=grace)
        if unfinished:
            log.warning("closing with %d answer(s) unfinished after %.0f s", len(unfinished), grace)
    await bot.close()
    log.info("closed cleanly")


def install_signal_handlers(bot: NewsroomBot, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """SIGTERM and SIGINT start a graceful shutdown; returns a function that removes the handlers.

    Only the main thread can take signals; elsewhere (a bot run in a thread, as some tests do) this does nothing.
    """
    signals = (signal.SIGTERM, signal.SIGINT) if threading.current_thread() is threading.main_thread() else ()
    for sig in signals:
        loop.add_signal_handler(sig, functools.partial(_on_signal, bot, sig))

    def remove() -> None:
        for sig in signals:
            loop.remove_signal_handler(sig)

    return remove


def _on_signal(bot: NewsroomBot, sig: signal.Signals) -> None:
    log.info("%s received", sig.name)
    if bot.shutdown_task is None:
        bot.shutdown_task = bot.loop.create_task(shutdown(bot), name="newsroom-shutdown")


async def accepting(bot: NewsroomBot, interaction: discord.Interaction) -> bool:
    """The command tree's check: while shutting down, commands are refused politely (and privately)."""
    if not bot.draining:
        return True
    if interaction.type is discord.InteractionType.application_command and not interaction.response.is_done():
        await interaction.response.send_message(RESTARTING, ephemeral=True)
    return False
