"""`ServedLibrary`: the one owner of "the library the bot answers from" and of every swap of it.

- Start: the index is opened as an `index.LiveLibrary` while the gateway connects. A missing or unusable index
  does not stop the bot: it comes online, tells readers it has no stories yet (admins: how to fix that), and logs
  the exact command. A newsroom would rather see "not ready" than a bot that crash-loops under its supervisor.
- Watch: every INDEX_WATCH_SECONDS the LiveLibrary is asked to reload, on the build thread, never on the threads
  questions use (which is why its own per-question check is off). A new build made by `newsroom-bot build` is
  loaded off the loop and swapped in; one it cannot load is refused (logged once) and the last good one keeps
  answering; nothing a build does ends the watch.
- Swap: `/reindex` and the watch both end in `swap`, which lists the new Library's stories once (autocomplete
  reads the list on the loop) and serves it; questions in flight finish on the Library they started with.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from index import DatabaseIndex, Library, LiveLibrary, StoryInfo

from .messages import NOT_READY
from .settings import Settings

log = logging.getLogger("newsroom.bot")
RunBlocking = Callable[..., Awaitable[Any]]


class LibraryUnavailable(RuntimeError):
    """No usable index (the start-up load failed): questions get the not-ready text until a build is swapped in."""


class ServedLibrary:
    """The Library being served (via its LiveLibrary), its story list, whether the start-up load is done, and why
    there is none if there is none. The bot reads it; only its own methods change it."""

    def __init__(self, settings: Settings, run_blocking: RunBlocking, library: Library | None = None) -> None:
        """Serve `library` as given, or nothing until `load()` has opened `settings.index_dir`."""
        self.settings = settings
        self._run = run_blocking
        # DATABASE_URL: the index is in PostgreSQL; one pool of connections serves every build this process loads
        self.database = DatabaseIndex(settings.database, settings.index_dir) if settings.database else None
        self.live: LiveLibrary | None = None
        self.load_error: BaseException | None = None
        self._stories: list[StoryInfo] = []
        self._loaded = asyncio.Event()
        if library is not None:
            self.live = self._live(library)
            self._stories = library.stories()
            self._loaded.set()

    def _live(self, library: Library | None = None) -> LiveLibrary:
        s = self.settings
        return LiveLibrary(
            s.index_dir, s.engine_options(), library=library, check_interval=math.inf, database=self.database
        )

    # ----------------------------------------------------------------- reading
    @property
    def library(self) -> Library | None:
        """The Library answering now, or None (still loading, or no usable index)."""
        return self.live.library if self.live is not None and self.live.ready else None

    @property
    def stories(self) -> list[StoryInfo]:
        """The served Library's stories, listed once per swap."""
        return self._stories

    async def wait_loaded(self) -> None:
        """Until the start-up load has finished, well or not."""
        await self._loaded.wait()

    async def get(self) -> Library:
        """The Library answering now, waiting for the start-up load; LibraryUnavailable without a usable index."""
        await self._loaded.wait()
        library = self.library
        if library is None:
            raise LibraryUnavailable(NOT_READY)  # the cause is in the log
        return library

    # ----------------------------------------------------------------- changing
    async def load(self) -> None:
        """Open the index at start-up; without a usable one, stay up and say what to run."""
        started = time.perf_counter()
        try:
            live = await self._run(self._live)
        except Exception as exc:  # e.g. the model is not installed: same policy, say why
            self.load_error = exc
        else:
            if self.live is None:  # (a /reindex that finished meanwhile already serves a newer build)
                self.live = live
            library = self.library
            if library is not None:
                await self.swap(library)
            else:
                self.load_error = live.problem
        finally:
            self._loaded.set()
        if self.load_error is None:
            log.info("loaded the index in %.1f s", time.perf_counter() - started)
        else:
            log.error(
                "no usable index: %s. The bot stays up and tells readers; build the index (newsroom-bot build "
                "--index %s, or /reindex) and it is picked up without a restart.",
                self.load_error,
                self.settings.index_dir,
            )

    async def swap(self, new: Library) -> None:
        """Serve `new` from now on; calls already running on the old Library finish there."""
        stories = await self._run(new.stories)
        if self.live is None:
            self.live = self._live(new)
        elif not (self.live.ready and self.live.library is new):
            self.live.adopt(new, self.settings.index_dir)  # the watch now knows this build is served
        self._stories, self.load_error = stories, None
        self._loaded.set()
        log.info("library swapped in: %d stories", len(stories))

    async def watch(
        self, executor: ThreadPoolExecutor, *, paused: Callable[[], bool], closed: Callable[[], bool]
    ) -> None:
        """Swap in builds made outside the bot, every INDEX_WATCH_SECONDS until `closed()`; skip while `paused()`.

        Nothing a build can do ends the watch: LiveLibrary refuses a build it cannot load (and logs that once), and
        anything else that goes wrong in one check is logged once and the next check goes on.
        """
        failed = ""
        while not closed():
            await asyncio.sleep(self.settings.index_watch_seconds)
            live = self.live
            if live is None or paused():
                continue
            try:
                if await self._run(live.reload, executor=executor):
                    log.info("a new index build appeared (%s); swapping it in", live.build)
                    await self.swap(live.library)
                failed = ""
            except Exception as exc:  # the watch must outlive any one bad check
                if closed():  # the executor was shut down: the bot is closing
                    return
                if str(exc) != failed:
                    log.error(
                        "checking %s for a new build failed (%s: %s); still watching",
                        live.index_dir,
                        type(exc).__name__,
                        exc,
                    )
                failed = str(exc)
