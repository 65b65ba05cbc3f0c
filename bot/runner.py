"""Starting the bot from the command line: `newsroom-bot run`, `python -m bot`, and `make run` with a token.

Logging goes through one handler whose filter masks the token, so not even a third-party log line can print it.
The Library loads in the bot's executor while the gateway connects (see `NewsroomBot.setup_hook`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable

import aiohttp
import discord

from index import DatabaseMisconfigured, DatabaseUnavailable, IndexProblem, postgres, resolve_build

from . import lifecycle, reach
from .client import NewsroomBot, create_bot, invite_url
from .editorial.questionlog import QuestionLog, QuestionLogError
from .settings import Settings

EXIT_OK, EXIT_ERROR, EXIT_NO_TOKEN = 0, 1, 2


def how_to_get_a_token(settings: Settings) -> str:
    intent = (
        "ANSWER_CHANNEL_IDS is set, so turn ON 'Message Content Intent' (Bot -> Privileged Gateway Intents)."
        if settings.answer_channel_ids
        else "Leave 'Message Content Intent' off: without ANSWER_CHANNEL_IDS the bot answers only @mentions and "
        "slash commands, which don't need it."
    )
    return f"""No DISCORD_TOKEN is set, so the bot cannot connect to Discord.

1. https://discord.com/developers/applications -> New Application -> name it.
2. Bot -> Reset Token -> copy it into .env as DISCORD_TOKEN=... (never commit .env).
3. {intent}
4. Invite it: OAuth2 -> URL Generator -> scopes 'bot' and 'applications.commands'; permissions Send Messages,
   Embed Links, Read Message History. Or open this URL with your Application ID (General Information):
   {invite_url("YOUR_APPLICATION_ID")}
5. Optional: DISCORD_GUILD_ID=<your server id> makes slash commands appear at once (global sync can take an hour).
6. make run   (or: newsroom-bot run, python -m bot)

Meanwhile `newsroom-bot chat` answers in the terminal."""


class RedactToken(logging.Filter):
    """Replace the token wherever it appears in a log record (message, arguments or traceback text)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token:
            message = record.getMessage()
            if self.token in message:
                record.msg, record.args = message.replace(self.token, "[token]"), None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text and self.token in record.exc_text:
                record.exc_text = record.exc_text.replace(self.token, "[token]")
        return True


def configure_logging(settings: Settings) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    if settings.discord_token is not None:
        handler.addFilter(RedactToken(settings.discord_token.get_secret_value()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    logging.getLogger("discord.gateway").setLevel(max(logging.INFO, root.level))
    return handler


def quiet_voice_warnings() -> None:
    """discord.py warns at start-up that PyNaCl and davey are missing "for voice": a text bot never uses voice,
    so an operator should not be sent looking for them."""
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False


def stop_on_sigterm() -> None:
    """Treat SIGTERM (docker stop, systemd) like Ctrl-C: discord.py then closes the bot, and the question log
    writes its queued rows, instead of the process dying mid-queue. Once the bot's loop runs, `serve` replaces
    this with a graceful shutdown that also lets the answers in flight finish."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():  # signal handlers can only be set there
        signal.signal(signal.SIGTERM, interrupt)


def index_warning(settings: Settings) -> str | None:
    """What is wrong with INDEX_DIR, if anything. The bot starts anyway (see bot/serving.py) but says so first."""
    if settings.database is not None:
        return None  # the index is in PostgreSQL: the start-up load says what is missing
    try:
        resolve_build(settings.index_dir)
    except IndexProblem as exc:
        return (
            f"warning: {exc}\n  Starting anyway: the bot tells readers it has no stories yet, and picks up the index "
            f"as soon as it is built (newsroom-bot build --index {settings.index_dir}, or /reindex in Discord)."
        )
    return None


async def serve(bot: NewsroomBot, token: str) -> None:
    """What `bot.run` does, plus SIGTERM/SIGINT handlers: answers in flight finish before the bot closes."""
    async with bot:
        remove = lifecycle.install_signal_handlers(bot, asyncio.get_running_loop())
        try:
            if await reach.wait_until_reachable(lambda: bot.shutdown_task is not None or bot.is_closed()):
                await bot.start(token)
            if bot.shutdown_task is not None:
                await bot.shutdown_task  # start() returns as the close begins; let the shutdown finish
        finally:
            remove()


def check_question_log(settings: Settings) -> None:
    """Open and close the question log once, so a bad QUESTION_LOG_PATH stops start-up before connecting."""
    QuestionLog(settings.question_log_target).close()


def wait_for_database(url: str, *, first: float = reach.FIRST_DELAY, cap: float = reach.MAX_DELAY) -> None:
    """DATABASE_URL down at start (a machine booting beside its database): try again after growing pauses, one
    line a try, as for Discord. A server that answers but refuses (password, database, pgvector) raises
    DatabaseMisconfigured at once: waiting won't mend it."""
    pause: Callable[[], float] = reach.delays(first, cap)
    tries = 0
    while True:
        tries += 1
        try:
            conn = postgres.connect(url)
            try:
                postgres.ensure_vector(conn, url)
            finally:
                conn.close()
        except DatabaseUnavailable as exc:
            delay = pause()
            print(f"warning: {exc}; trying again in {delay:.2g} s (try {tries})", file=sys.stderr, flush=True)
            time.sleep(delay)
            continue
        if tries > 1:
            print(f"PostgreSQL is reachable again after {tries} tries; starting", file=sys.stderr, flush=True)
        return


def run_bot(settings: Settings) -> int:
    """Run until Ctrl-C or a fatal error; the exit status says which."""
    if settings.discord_token is None:
        print(how_to_get_a_token(settings), file=sys.stderr)
        return EXIT_NO_TOKEN
    try:
        if settings.database is not None:
            wait_for_database(settings.database)
        check_question_log(settings)  # fail before connecting, not after
    except (QuestionLogError, DatabaseMisconfigured) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # Ctrl-C while waiting for the database
        return EXIT_OK
    if warning := index_warning(settings):
        print(warning, file=sys.stderr)
    configure_logging(settings)
    quiet_voice_warnings()
    bot = create_bot(settings)
    stop_on_sigterm()
    try:
        with lifecycle.thread_switch_interval(settings.thread_switch_ms):
            asyncio.run(serve(bot, settings.discord_token.get_secret_value()))
    except KeyboardInterrupt:
        return EXIT_OK
    except discord.LoginFailure:
        print("error: Discord rejected DISCORD_TOKEN; reset it in the Developer Portal (Bot -> Reset Token).")
        return EXIT_ERROR
    except discord.PrivilegedIntentsRequired:
        print(
            "error: ANSWER_CHANNEL_IDS needs the Message Content intent: enable it in the Developer Portal "
            "(Bot -> Privileged Gateway Intents), or leave ANSWER_CHANNEL_IDS empty to answer @mentions only.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    except aiohttp.ClientConnectionError as exc:  # Discord went away between the reachability check and login
        print(
            f"error: Discord can't be reached: {reach.unreachable_reason(exc)}; start the bot again.", file=sys.stderr
        )
        return EXIT_ERROR
    except discord.ConnectionClosed as exc:
        print(
            f"error: Discord closed the connection (code {exc.code}: {exc.reason or 'no reason given'}).",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return EXIT_OK
