"""The bot's process life: a scoped thread switch interval, signals, and stopping cleanly. (Starting without an
index and following new builds is bot/serving.py's.)

- Stop: on SIGTERM (or Ctrl-C) the bot takes no new questions (a mention or a command that arrives is told it
  is restarting), lets the answers in flight finish (up to SHUTDOWN_GRACE seconds), then closes: gateway, HTTP
  session, executors and the question log, in that order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Protocol

import discord

from .messages import RESTARTING

log = logging.getLogger("newsroom.bot")
SHUTDOWN_GRACE = 30.0
# Where discord.py runs the work a question starts: message listeners and application commands.
ANSWER_TASK_NAMES = ("discord.py: on_message", "CommandTree-invoker")


class Stoppable(Protocol):
    """What stopping needs of the bot (bot/client.py's NewsroomBot is one), so this module stays below the client:
    whether it is draining, the shutdown a signal started, how many questions it turned away, and `close`."""

    draining: bool
    shutdown_task: asyncio.Task[None] | None
    turned_away: int

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    async def close(self) -> None: ...


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


def answers_in_flight() -> list[asyncio.Task[object]]:
    current = asyncio.current_task()
    return [
        task for task in asyncio.all_tasks() if task is not current and task.get_name().startswith(ANSWER_TASK_NAMES)
    ]


async def shutdown(bot: Stoppable, grace: float = SHUTDOWN_GRACE) -> None:
    """Take no new questions, let the answers in flight finish, then close.

    A question that arrives meanwhile is told the bot is restarting (bot/cogs/ask.py, `accepting` below); those
    replies are work in flight too, so the wait goes on until none is left (or `grace` runs out), and the log says
    how many questions were turned away."""
    if bot.draining:
        return
    bot.draining = True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    pending = answers_in_flight()
    if pending:
        log.info("shutting down: finishing %d answer(s) in flight", len(pending))
    while pending:
        _, unfinished = await asyncio.wait(pending, timeout=max(deadline - loop.time(), 0))
        if unfinished:
            log.warning("closing with %d answer(s) unfinished after %.0f s", len(unfinished), grace)
            break
        pending = answers_in_flight()  # "restarting" replies to questions that came in while these finished
    if bot.turned_away:
        log.info("turned away %d question(s) while shutting down: each was told the bot is restarting", bot.turned_away)
    await bot.close()
    log.info("closed cleanly")


def install_signal_handlers(bot: Stoppable, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
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


def _on_signal(bot: Stoppable, sig: signal.Signals) -> None:
    log.info("%s received", sig.name)
    if bot.shutdown_task is None:
        bot.shutdown_task = bot.loop.create_task(shutdown(bot), name="newsroom-shutdown")


async def accepting(bot: Stoppable, interaction: discord.Interaction) -> bool:
    """The command tree's check: while shutting down, commands are refused politely (and privately)."""
    if not bot.draining:
        return True
    if interaction.type is discord.InteractionType.application_command and not interaction.response.is_done():
        bot.turned_away += 1
        await interaction.response.send_message(RESTARTING, ephemeral=True)
    return False
