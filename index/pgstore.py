"""Serving the index from PostgreSQL (DATABASE_URL), from any machine.

A process keeps in memory only what is small beside the vectors: the parsed stories and the lexical index (BM25
arrays: measured in benchmarks.perf_pgvector), read once per build. The vectors stay in the database and are
searched there (`pgvectors`). Each build's files are written once into a folder of this machine's INDEX_DIR,
`postgres/build-<id>/`, laid out like a folder build without its FAISS files, and read by the same code
(`store.read_parts`) with the same checks; the ONNX export goes to `models/`, where a folder build keeps it. A
new build is noticed by polling `index_current` (one indexed row: cheap enough for every check of the watch).
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np

from . import pgschema, postgres
from .errors import IndexCorrupt, IndexMismatch, IndexMissing
from .pgbuild import ID_FILES, STORY_IDS
from .pgvectors import Connections, PgVectors
from .store import MODELS, REBUILD_HINT, IndexData, Manifest, read_parts

FOLDER = "postgres"
PREFIX = "build-"


class DatabaseIndex:
    """The index in PostgreSQL as one serving process sees it; `index_dir` is this machine's folder for its files."""

    def __init__(self, url: str, index_dir: Path) -> None:
        self.url = url
        self.where = postgres.redacted(url)
        self.index_dir = Path(index_dir)
        self.connections = Connections(url)

    def missing_message(self) -> str:
        return f"no index in {self.where} yet: build it with: newsroom-bot build (DATABASE_URL set)"

    def folder_of(self, build_id: int) -> Path:
        return self.index_dir / FOLDER / f"{PREFIX}{build_id}"

    @staticmethod
    def build_id(folder: Path) -> int:
        return int(folder.name.removeprefix(PREFIX))

    def current(self) -> int | None:
        """The current build's id; None before the first build. DatabaseUnavailable when the database is away."""
        with self.connections.get() as conn:
            if postgres.stored_version(conn, pgschema.VERSION_TABLE) is None:
                return None
            row = conn.execute("SELECT build_id FROM index_current").fetchone()
        return None if row is None else int(row[0])

    def current_folder(self) -> Path:
        """The local folder of the current build (not yet written): what `read` takes. IndexMissing before any."""
        build_id = self.current()
        if build_id is None:
            raise IndexMissing(self.missing_message())
        return self.folder_of(build_id)

    def read(self, folder: Path, *, expect_model: str | None = None, expect_dimension: int | None = None) -> IndexData:
        """Build `folder` names, its files fetched once into `folder`, checked as a folder build is."""
        build_id = self.build_id(folder)
        manifest = self._fetch(build_id, folder)
        if expect_model is not None and manifest.model != expect_model:
            raise IndexMismatch(
                f"the index in {self.where} was built with model {manifest.model!r} but the settings ask for "
                f"{expect_model!r}; {REBUILD_HINT} (or set MODEL={manifest.model})"
            )
        if expect_dimension is not None and manifest.dimension != expect_dimension:
            raise IndexMismatch(f"the index in {self.where} holds {manifest.dimension}-d vectors; {REBUILD_HINT}")
        try:
            ids = {kind: np.load(folder / name, allow_pickle=False) for kind, name in ID_FILES.items()}
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(f"build {build_id} in {self.where} cannot be read ({exc}); {REBUILD_HINT}") from exc
        vectors = {
            kind: PgVectors(self.connections, kind, build_id, ids[kind], manifest.dimension) for kind in ID_FILES
        }
        return read_parts(folder, manifest, vectors["paragraphs"], vectors["sentences"])

    def _fetch(self, build_id: int, folder: Path) -> Manifest:
        """The build's manifest; its files (and its model export) written under INDEX_DIR if not there yet."""
        with self.connections.get() as conn:
            row = conn.execute("SELECT manifest FROM index_builds WHERE id = %s", (build_id,)).fetchone()
            if row is None:
                raise IndexMissing(f"build {build_id} is no longer in {self.where} (a newer one replaced it)")
            manifest = Manifest.model_validate_json(row[0])
            if not (folder / "manifest.json").exists():
                self._write_folder(conn, build_id, folder, manifest)
            for export in (manifest.encoder_dir, manifest.cross_encoder.dir if manifest.cross_encoder else None):
                if export:
                    self._write_model(conn, (folder / export).resolve())
        return manifest

    def _write_folder(self, conn: object, build_id: int, folder: Path, manifest: Manifest) -> None:
        partial = folder.with_name(f".{folder.name}.{os.getpid()}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        try:
            for name, content in conn.execute(  # type: ignore[attr-defined]
                "SELECT name, content FROM index_build_files WHERE build_id = %s", (build_id,)
            ):
                (partial / name).write_bytes(content)
            story_ids = np.load(io.BytesIO((partial / STORY_IDS).read_bytes()), allow_pickle=False).tolist()
            texts = dict(
                conn.execute("SELECT id, story FROM index_stories WHERE id = ANY(%s)", (story_ids,)).fetchall()  # type: ignore[attr-defined]
            )
            (partial / "stories.json").write_text("[" + ", ".join(texts[i] for i in story_ids) + "]", encoding="utf-8")
            (partial / "manifest.json").write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
            try:
                partial.rename(folder)
            except OSError:  # another process on this machine wrote it first: theirs is the same build
                shutil.rmtree(partial, ignore_errors=True)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        self._prune(keep=folder)

    def _write_model(self, conn: object, target: Path) -> None:
        """An ONNX export the build stored, written into this machine's models/ folder unless already there."""
        if target.exists():
            return
        name = f"{MODELS}/{target.name}"
        files = conn.execute(  # type: ignore[attr-defined]
            "SELECT name, content FROM index_model_files WHERE folder = %s", (name,)
        ).fetchall()
        if not files:
            return  # a custom encoder's build: no export to fetch (the caller passes the encoder)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        for relative, content in files:
            path = partial / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        try:
            partial.rename(target)
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)

    def _prune(self, keep: Path) -> None:
        """This machine's copies of builds older than the newest two (their rows are pruned in the database too)."""
        builds = sorted(
            (p for p in keep.parent.iterdir() if p.is_dir() and p.name.startswith(PREFIX)), key=self.build_id
        )
        for old in builds[:-2]:
            if old != keep:
                shutil.rmtree(old, ignore_errors=True)
