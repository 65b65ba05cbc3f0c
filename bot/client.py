"""The Discord client: a `commands.Bot` serving a Library (`served`, bot/serving.py), and an executor for the engine.

The engine is synchronous and CPU-bound, so every call into it goes through `run_blocking` (a small thread pool
owned by the bot) and the event loop keeps answering heartbeats and other readers meanwhile. Readers' questions
queue in `ask_queue` (bot/ask_queue.py), where one worker answers whatever has queued with one `Library.ask_many` call.
Rebuilds run on a separate one-thread pool so a long `/reindex` never takes the threads questions need; the new
`Library` is swapped in by `served`, so questions in flight finish on the old one and the next ones use the new one.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from index import BuildReport, DatabaseUnavailable, Library, StoryInfo, build_index

from . import lifecycle
from .ask_queue import AskQueue
from .editorial.questionlog import QuestionLog
from .feedback import VoteButton
from .messages import NOT_READY, REFUSE_ADMIN, SORRY, not_ready
from .serving import LibraryUnavailable, ServedLibrary
from .settings import Settings

log = logging.getLogger("newsroom.bot")
T = TypeVar("T")
# Questions queue on the event loop and one worker answers them in batches (bot/ask_queue.py), so the engine needs
# one thread; the second keeps summaries and other engine calls from waiting behind a batch.
ASK_WORKERS = 2
COGS = ("bot.cogs.ask", "bot.cogs.stories", "bot.cogs.admin", "bot.cogs.editors")
# What the bot needs in a channel: answer, show embeds, reply to a message (a reply reads the message it answers).
PERMISSIONS = discord.Permissions(send_messages=True, embed_links=True, read_message_history=True)
SCOPES = ("bot", "applications.commands")


def invite_url(application_id: int | str) -> str:
    """The URL that adds the bot to a server with the permissions and scopes it needs."""
    return discord.utils.oauth_url(application_id, permissions=PERMISSIONS, scopes=SCOPES)


class NewsroomTree(app_commands.CommandTree["NewsroomBot"]):
    """The command tree, whose check refuses new commands politely while the bot shuts down."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return await lifecycle.accepting(self.client, interaction)


class NewsroomBot(commands.Bot):
    """Answers questions about the stories in `library`; see the module docstring for the threading model."""

    def __init__(
        self, settings: Settings, library: Library | None = None, *, workers: int = ASK_WORKERS, **client: Any
    ) -> None:
        intents = discord.Intents.default()
        # Content of messages that @mention the bot arrives without the privileged intent; it is only needed
        # to read every message in the answer channels.
        intents.message_content = bool(settings.answer_channel_ids)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            tree_cls=NewsroomTree,
            **client,
        )
        self.settings = settings
        self.answer_channel_ids: set[int] = set(settings.answer_channel_ids)
        # The library being served and every swap of it (bot/serving.py); a given library is served as loaded.
        self.served = ServedLibrary(settings, self.run_blocking, library)
        self.draining = False  # shutting down: no new questions
        self.turned_away = 0  # questions told "restarting" while draining (logged at shutdown)
        self.shutdown_task: asyncio.Task[None] | None = None  # set by SIGTERM/SIGINT (bot/lifecycle.py)
        self._watch: asyncio.Task[None] | None = None
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="newsroom-ask")
        self.ask_queue = AskQueue(self.run_blocking)  # readers' questions, answered in batches by one worker
        self.build_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsroom-build")
        self.reindex_lock = asyncio.Lock()
        self.questions: QuestionLog | None = None  # opened in setup_hook: the question log, votes, channel bindings
        self.tree.error(self._on_app_command_error)
        self.cooldowns: commands.CooldownMapping[int] = commands.CooldownMapping(
            commands.Cooldown(settings.cooldown_questions, settings.cooldown_seconds), lambda user_id: user_id
        )

    # ----------------------------------------------------------------- lifecycle
    async def setup_hook(self) -> None:
        if self.served.live is None:
            # Load while the gateway connects; commands wait for it (deferred) instead of failing.
            self.loop.create_task(self.served.load(), name="newsroom-load-library")
        if self.settings.index_watch_seconds > 0:
            watch = self.served.watch(self.build_executor, paused=self._rebuilding_or_draining, closed=self.is_closed)
            self._watch = self.loop.create_task(watch, name="newsroom-index-watch")
        self.questions = await asyncio.to_thread(self._open_question_log)
        self.add_dynamic_items(VoteButton)  # 👍 / 👎 under answers sent before this start still work
        for cog in COGS:
            await self.load_extension(cog)
        if self.settings.discord_guild_id:
            guild = discord.Object(id=self.settings.discord_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d application commands to guild %s", len(synced), guild.id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d application commands globally (may take a while to appear)", len(synced))

    def _rebuilding_or_draining(self) -> bool:
        """No watch check while /reindex builds (it swaps its own build in) or the bot shuts down."""
        return self.reindex_lock.locked() or self.draining

    def _open_question_log(self) -> QuestionLog:
        s = self.settings
        salt = s.question_log_salt.get_secret_value() if s.question_log_salt else None
        return QuestionLog(
            s.question_log_target,
            salt=salt,
            retention_days=s.question_log_retention_days,
            enabled=s.question_log_enabled,
        )

    async def shutdown(self, grace: float = lifecycle.SHUTDOWN_GRACE) -> None:
        """What SIGTERM does: no new questions, the answers in flight finish (up to `grace` s), then close."""
        await lifecycle.shutdown(self, grace)

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        await super().close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.build_executor.shutdown(wait=False, cancel_futures=True)
        if self.questions is not None:
            await asyncio.to_thread(self.questions.close)  # writes every queued row before the file closes

    async def _on_app_command_error(
        self, interaction: discord.Interaction, error: discord.app_commands.AppCommandError
    ) -> None:
        """A command that fails still answers (so "thinking…" never hangs); the cause goes to the log."""
        name = interaction.command.qualified_name if interaction.command else "?"
        text = SORRY
        if isinstance(error, app_commands.CheckFailure):  # admin_only (bot/cogs/common.py) refused them
            text = REFUSE_ADMIN
        elif isinstance(getattr(error, "original", error), LibraryUnavailable):
            text = not_ready(self.is_admin(interaction.user))  # the cause was logged at start-up
        else:
            log.error("/%s failed", name, exc_info=error)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not tell the reader that /%s failed", name)

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: the ask cog handles messages (prefix parsing would misread questions)."""

    async def on_ready(self) -> None:
        assert self.user is not None
        log.info("connected as %s (id %s) to %d servers", self.user, self.user.id, len(self.guilds))
        if not self.guilds and self.application_id:
            log.warning("the bot is in no server yet; invite it: %s", invite_url(self.application_id))

    # ----------------------------------------------------------------- the library
    @property
    def library(self) -> Library | None:
        """The current Library, or None while it is still loading (or there is no usable index)."""
        return self.served.library

    @property
    def stories(self) -> list[StoryInfo]:
        """The current Library's stories, listed once per swap: autocomplete reads it on the loop, at no cost."""
        return self.served.stories

    @property
    def load_error(self) -> BaseException | None:
        """Why there is no usable index, if there is none."""
        return self.served.load_error

    async def get_library(self) -> Library:
        """The current Library, waiting for the start-up load if it is still running; LibraryUnavailable if none."""
        return await self.served.get()

    async def rebuild(self, *, force: bool = False) -> BuildReport:
        """Rebuild the index from the content folder off the loop, then swap the new Library in."""
        async with self.reindex_lock:
            settings = self.settings
            report = await self.run_blocking(
                build_index,
                settings.content_dir,
                settings.index_dir,
                settings.engine_options(),
                force=force,
                executor=self.build_executor,
            )
            if report.changed or self.library is None:
                # The index's own ONNX export encodes the questions, exactly as at start-up.
                new = await self.run_blocking(
                    Library.load,
                    settings.index_dir,
                    options=settings.engine_options(),
                    database=self.served.database,
                    executor=self.build_executor,
                )
                await self.served.swap(new)
            return report

    async def run_blocking(
        self, fn: Callable[..., T], *args: Any, executor: ThreadPoolExecutor | None = None, **kwargs: Any
    ) -> T:
        """Run `fn(*args, **kwargs)` in the bot's thread pool and await it without blocking the loop.

        PostgreSQL away for a moment (DATABASE_URL: restarting, a failover) is LibraryUnavailable here, so the
        reader gets the polite "not ready" rather than an apology for a bug; the engine reconnects by itself."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor or self.executor, functools.partial(fn, *args, **kwargs))
        except DatabaseUnavailable as exc:
            log.warning("the database is not answering (%s); telling readers to try again shortly", exc)
            raise LibraryUnavailable(NOT_READY) from exc

    # ----------------------------------------------------------------- cooldown
    def retry_after(self, user_id: int) -> float | None:
        """Seconds this user must wait, or None and one question counted. Monotonic clock: immune to clock jumps."""
        now = time.monotonic() + 1.0  # Cooldown reads 0.0 as "no time given"; a simulated clock starts at 0
        bucket = self.cooldowns.get_bucket(user_id, now)
        return bucket.update_rate_limit(now) if bucket is not None else None

    def is_admin(self, member: discord.abc.User) -> bool:
        """ADMIN_ROLE_IDS or the Manage Server permission."""
        if not isinstance(member, discord.Member):
            return False
        if member.guild_permissions.manage_guild:
            return True
        admin_roles = set(self.settings.admin_role_ids)
        return any(role.id in admin_roles for role in member.roles)


class ShardedNewsroomBot(NewsroomBot, commands.AutoShardedBot):
    """The same bot over several gateway connections (shards), for when it sits in thousands of servers.

    Discord requires sharding past 2,500 servers; each shard carries a share of them, all in this one process
    and sharing its Library. With SHARD_IDS the process runs only those shards, and other processes (pointed at
    the same INDEX_DIR) run the rest (see docs/operations.md).
    """


def create_bot(settings: Settings, library: Library | None = None) -> NewsroomBot:
    """The bot `make run` and the tests start. Without a `library`, it is loaded from INDEX_DIR in setup_hook.

    SHARD_COUNT unset: one gateway connection. `auto`: as many shards as Discord recommends. A number: that many,
    all in this process unless SHARD_IDS names the ones it runs (settings checked they fit the count).
    """
    if settings.shard_count is None:
        return NewsroomBot(settings, library)
    count = None if settings.shard_count == "auto" else settings.shard_count
    return ShardedNewsroomBot(settings, library, shard_count=count, shard_ids=settings.shard_ids or None)
