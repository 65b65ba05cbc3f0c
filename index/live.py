"""`LiveLibrary`: the Library a long-running server holds, following the index's `current` build.

A server should not have to restart when an editor runs `newsroom-bot build`, and a bad build must not take
it down. So a LiveLibrary:

- notices a new build cheaply (the `current` symlink's target and the manifest's mtime, checked at most
  every `check_interval` seconds when asked, or at once with `reload()`),
- loads and checks the new build off to the side while the old Library keeps answering, then swaps it in
  with one assignment (questions in flight finish on the Library they started with),
- refuses a build it cannot load, whatever the cause (a corrupt, truncated or mismatched build with the store's
  message, which says how to rebuild; a damaged model file that onnxruntime or tokenizers reject; anything else),
  logs that once and keeps serving the last good Library; a refused build is tried again when its manifest
  changes or an export under `models/` is re-made (`newsroom-bot build` repairs a damaged export in place),
- starts without an index at all: `ask` then raises `IndexMissing` whose message is the build command, and
  the first build that appears is picked up without a restart.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .embedder import CachedEncoder, Encoder
from .errors import DatabaseUnavailable, IndexMissing, IndexProblem
from .library import Library
from .models import Answer, StoryInfo, Summary
from .options import EngineOptions
from .pgstore import DatabaseIndex
from .store import CURRENT, MODELS, REBUILD_HINT, resolve_build

log = logging.getLogger(__name__)

Loader = Callable[[Path, Encoder | None, EngineOptions | None], Library]


@dataclass(frozen=True)
class BuildSignature:
    """What identifies one build on disk: its folder and its manifest's stat."""

    build: Path
    mtime_ns: int
    size: int


class LiveLibrary:
    """The last good Library for `index_dir`, reloaded when a new build becomes current."""

    def __init__(
        self,
        index_dir: str | Path,
        options: EngineOptions | None = None,
        *,
        encoder: Encoder | None = None,
        check_interval: float = 2.0,
        loader: Loader | None = None,
        library: Library | None = None,
        database: DatabaseIndex | None = None,
    ) -> None:
        """Load the current build now (or serve `library`, already loaded from it, without loading it again).

        `database` (DATABASE_URL): builds come from PostgreSQL, noticed by polling its current build's id;
        `index_dir` is this machine's folder for their files."""
        self.index_dir = Path(index_dir)
        self.database = database
        self.options = options  # each build is loaded with them (its model checked), as Library.load does
        self.check_interval = check_interval
        self._encoder = (
            CachedEncoder(encoder) if encoder is not None and not isinstance(encoder, CachedEncoder) else encoder
        )
        self._loader = loader or self._load
        self._library: Library | None = None
        self._signature: BuildSignature | None = None
        self._failed: tuple[BuildSignature, int] | None = None  # a refused build and the models/ stamp then
        self._reload_lock = threading.Lock()
        self._last_check = time.monotonic()
        self.problem: IndexProblem | None = None
        self.reloads = 0
        if library is not None:
            self._library, self._signature = library, self._signature_of(library.data.path)
        else:
            self.reload(wait=True)

    # ----------------------------------------------------------------- state
    @property
    def ready(self) -> bool:
        return self._library is not None

    @property
    def build(self) -> Path | None:
        """The build folder being served, if any."""
        return self._signature.build if self._signature else None

    @property
    def library(self) -> Library:
        """The Library to use now; raises IndexMissing (with the build command) when there is none yet."""
        self.maybe_reload()
        library = self._library
        if library is None:
            problem = self.problem or IndexMissing(self.missing_message())
            raise type(problem)(str(problem))  # a fresh exception: threads must not share one traceback
        return library

    def _load(self, build: Path, encoder: Encoder | None, options: EngineOptions | None) -> Library:
        return Library.load(build, options=options, encoder=encoder, database=self.database)

    def missing_message(self) -> str:
        if self.database is not None:
            return self.database.missing_message()
        return f"no index at {self.index_dir}: build it with: newsroom-bot build --index {self.index_dir}"

    def status(self) -> str:
        """One line for logs and admins: what is served and what was last refused."""
        serving = f"serving {self.build.name}" if self.build else "no index loaded"
        return serving + (f"; last problem: {self.problem}" if self.problem else "")

    def adopt(self, library: Library, index_dir: str | Path | None = None) -> None:
        """Serve `library`, loaded elsewhere (e.g. by /reindex) from a build of `index_dir` (default: this one)."""
        with self._reload_lock:
            if index_dir is not None:
                self.index_dir = Path(index_dir)
            self._library, self._signature, self._failed, self.problem = (
                library,
                self._signature_of(library.data.path),
                None,
                None,
            )

    # ----------------------------------------------------------------- change detection
    def signature(self) -> BuildSignature | None:
        """The current build's signature, or None when there is no index (a couple of syscalls, or in PostgreSQL
        one indexed row; DatabaseUnavailable when it is away)."""
        if self.database is not None:
            build_id = self.database.current()
            return None if build_id is None else BuildSignature(self.database.folder_of(build_id), build_id, 0)
        try:
            return self._signature_of(resolve_build(self.index_dir))
        except IndexMissing:
            return None

    def _signature_of(self, build: Path) -> BuildSignature | None:
        if self.database is not None:
            return BuildSignature(build, DatabaseIndex.build_id(build), 0)
        try:
            stat = os.stat(build / "manifest.json")
        except OSError:
            return None
        return BuildSignature(build.resolve(), stat.st_mtime_ns, stat.st_size)

    def maybe_reload(self) -> bool:
        """Reload if `check_interval` has passed and the build changed. Cheap enough to call on every question."""
        now = time.monotonic()
        if now - self._last_check < self.check_interval:
            return False
        self._last_check = now
        return self.reload(wait=False)

    def reload(self, *, wait: bool = True) -> bool:
        """Load the current build if it is new; True when a new Library was swapped in.

        With wait=False a reload already running in another thread is not waited for: the caller goes on
        with the Library it has. A refused build is remembered, so it is reported once, not on every check.
        """
        if not self._reload_lock.acquire(blocking=wait):
            return False
        try:
            try:
                signature = self.signature()
            except DatabaseUnavailable as exc:  # PostgreSQL away: keep serving what we have, look again next time
                if self._library is None:
                    self.problem = exc
                log.warning("cannot check for a new build: %s; still serving %s", exc, self.build or "nothing")
                return False
            if signature is None:
                if self._library is None:
                    self.problem = IndexMissing(self.missing_message())
                elif self.database is None and not (self.index_dir / CURRENT).exists():
                    log.warning("index %s disappeared; still serving %s", self.index_dir, self.build)
                return False
            if signature == self._signature or (signature, self._models_stamp()) == self._failed:
                return False
            return self._swap(signature)
        finally:
            self._reload_lock.release()

    def _models_stamp(self) -> int:
        """When an export under `models/` was last made or re-made (a rename there): retries a refused build."""
        try:
            return os.stat(self.index_dir / MODELS).st_mtime_ns
        except OSError:
            return 0

    def _swap(self, signature: BuildSignature) -> bool:
        models = self._models_stamp()  # before loading: a repair made meanwhile is seen at the next check
        try:
            library = self._loader(signature.build, self._encoder, self.options)
        except IndexProblem as exc:
            self._refuse(signature, models, exc)
            return False
        except Exception as exc:  # any failure to load is a refused build, never a dead server
            # e.g. onnxruntime's InvalidProtobuf or a tokenizers Exception on a damaged model file, or a build
            # pruned while it was being read
            cause = f"{type(exc).__name__}: {exc}"
            cause = cause if len(cause) <= 300 else cause[:300] + "…"
            self._refuse(
                signature, models, IndexProblem(f"build {signature.build} cannot be loaded ({cause}); {REBUILD_HINT}")
            )
            log.debug("loading %s failed", signature.build, exc_info=True)
            return False
        self._library, self._signature, self._failed, self.problem = library, signature, None, None
        self.reloads += 1
        log.info("serving index build %s (%d stories)", signature.build.name, len(library.data.stories))
        return True

    def _refuse(self, signature: BuildSignature, models: int, problem: IndexProblem) -> None:
        self._failed, self.problem = (signature, models), problem
        if self._library is None:
            log.error("cannot load the index: %s", problem)
        else:
            log.error("refused new index build: %s; still serving %s", problem, self.build)

    # ----------------------------------------------------------------- the Library's face
    def ask(self, question: str, story: str | None = None, *, top_k: int = 3) -> Answer:
        return self.library.ask(question, story, top_k=top_k)

    def summary(self, story: str | None = None, *, sentences: int = 3) -> Summary:
        return self.library.summary(story, sentences=sentences)

    def stories(self) -> list[StoryInfo]:
        return self.library.stories()
