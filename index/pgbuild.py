"""`newsroom-bot build` into PostgreSQL (DATABASE_URL): only changed stories embedded and written, all at once.

`build_index` does the same work as for files (parse, embed what changed) and hands the result here. The
database is the index (see `pgschema` for the tables and how builds share rows):

- Two builders exclude each other with an advisory lock held for the whole build, wherever they run.
- Unchanged stories keep their rows; a changed story gets new rows and its old ones are marked died; a removed
  one is marked died. The new build's own files (the lexical index and stories.json, as a folder build has them,
  and each row position's id) are written beside it, and `index_current` names it, all in one transaction: a
  build killed at any point leaves the served build as it was.
- The ONNX export questions are encoded with is stored too (once per model), so a bot on another machine, with a
  folder of its own, needs nothing but DATABASE_URL.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import pgschema, postgres
from .checksums import sha256_file
from .errors import BuildLocked
from .models import Story
from .store import KEEP_BUILDS, BuildContents, Manifest, story_json, write_parts

LOCK_KEY = "newsroom-bot index build"
ID_FILES = {"paragraphs": "paragraph-ids.npy", "sentences": "sentence-ids.npy"}
STORY_IDS = "story-ids.npy"


@dataclass(frozen=True)
class Stored:
    """A story as the current build holds it."""

    story_id: int
    content_hash: str
    indexed_at: dt.datetime


def open_schema(url: str) -> Any:
    """A connection with the index's tables made or brought up to date (and pgvector there)."""
    conn = postgres.connect(url)
    try:
        postgres.ensure_vector(conn, url)
        postgres.migrate(conn, pgschema.MIGRATIONS, pgschema.VERSION_TABLE, f"the index in {postgres.redacted(url)}")
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def build_lock(url: str) -> Iterator[Any]:
    """The database's build lock, held on the connection the build writes with; BuildLocked if another has it."""
    conn = open_schema(url)
    try:
        if not conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (LOCK_KEY,)).fetchone()[0]:
            holder = conn.execute(
                "SELECT a.client_addr, a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a"
                " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.objid = hashtext(%s)::oid",
                (LOCK_KEY,),
            ).fetchone()
            since = f"a connection since {holder[2]:%Y-%m-%d %H:%M:%S}" if holder else "another connection"
            raise BuildLocked(f"another build holds the lock on {postgres.redacted(url)}: {since}")
        yield conn
    finally:
        conn.close()  # ends the session: the advisory lock goes with it, and so would an unfinished transaction


def current(conn: Any) -> tuple[int, Manifest, dict[str, Stored]] | None:
    """The current build: its id, manifest and stories; None before the first build."""
    row = conn.execute(
        "SELECT b.id, b.manifest FROM index_current c JOIN index_builds b ON b.id = c.build_id"
    ).fetchone()
    if row is None:
        return None
    manifest = Manifest.model_validate_json(row[1])
    ids = _file_array(conn, row[0], STORY_IDS)
    stored = {
        entry.slug: Stored(int(story_id), entry.content_hash, entry.indexed_at)
        for entry, story_id in zip(manifest.stories, ids)
    }
    return int(row[0]), manifest, stored


def previous_rows(
    current: tuple[int, Manifest, dict[str, Stored]] | None, model_id: str, quantization: str, encoder_format: int
) -> dict[str, tuple[str, None, None, dt.datetime, Stored]]:
    """The database's counterpart of `PreviousBuild.reusable`: what the current build holds, when made by the
    same model, quantisation and export format (its vectors stay in the database; unchanged stories keep their rows)."""
    if current is None:
        return {}
    _, manifest, stored = current
    if (manifest.model_fingerprint, manifest.quantization, manifest.encoder_format) != (
        model_id,
        quantization,
        encoder_format,
    ):
        return {}
    return {slug: (entry.content_hash, None, None, entry.indexed_at, entry) for slug, entry in stored.items()}


def _file_array(conn: Any, build_id: int, name: str) -> np.ndarray:
    import io

    row = conn.execute(
        "SELECT content FROM index_build_files WHERE build_id = %s AND name = %s", (build_id, name)
    ).fetchone()
    return np.load(io.BytesIO(row[0]), allow_pickle=False)


def _take_ids(conn: Any, table: str, count: int) -> np.ndarray:
    """`count` ids from the table's identity sequence (reserved, so the rows can be COPYed with them)."""
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    rows = conn.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", (table, count)
    ).fetchall()
    return np.array([r[0] for r in rows], dtype=np.int64)


def _insert_story(
    conn: Any, build_id: int, story: Story, text: str, vectors: tuple[np.ndarray, np.ndarray]
) -> tuple[int, np.ndarray, np.ndarray]:
    """A new story's row and its paragraphs' and sentences' rows with their vectors; (story id, row ids)."""
    story_id = conn.execute(
        "INSERT INTO index_stories (slug, content_hash, story, born) VALUES (%s, %s, %s, %s) RETURNING id",
        (story.slug, story.content_hash, text, build_id),
    ).fetchone()[0]
    paragraphs, sentences = vectors
    p_ids = _take_ids(conn, "index_paragraphs", len(paragraphs))
    s_ids = _take_ids(conn, "index_sentences", len(sentences))
    with conn.cursor().copy(
        "COPY index_paragraphs (id, story_id, position, born, embedding) FROM STDIN WITH (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int8", "int8", "int4", "int8", "vector"])
        for position, (row_id, vector) in enumerate(zip(p_ids, paragraphs)):
            copy.write_row((int(row_id), story_id, position, build_id, vector))
    places = [(pi, si) for pi, p in enumerate(story.paragraphs) for si in range(len(p.sentences))]
    with conn.cursor().copy(
        "COPY index_sentences (id, story_id, paragraph, position, born, embedding) FROM STDIN WITH (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int8", "int8", "int4", "int4", "int8", "vector"])
        for (row_id, vector), (pi, si) in zip(zip(s_ids, sentences), places):
            copy.write_row((int(row_id), story_id, pi, si, build_id, vector))
    return int(story_id), p_ids, s_ids


def _kept_rows(conn: Any, story_ids: list[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The row ids of stories kept from the current build, in RowLayout order per story."""
    out: dict[int, tuple[list[int], list[int]]] = {i: ([], []) for i in story_ids}
    for story_id, row_id in conn.execute(
        "SELECT story_id, id FROM index_paragraphs WHERE story_id = ANY(%s) ORDER BY story_id, position",
        (story_ids,),
    ):
        out[story_id][0].append(row_id)
    for story_id, row_id in conn.execute(
        "SELECT story_id, id FROM index_sentences WHERE story_id = ANY(%s) ORDER BY story_id, paragraph, position",
        (story_ids,),
    ):
        out[story_id][1].append(row_id)
    return {k: (np.array(p, dtype=np.int64), np.array(s, dtype=np.int64)) for k, (p, s) in out.items()}


def write_database_build(
    conn: Any,
    where: str,
    stories: list[Story],
    fresh: dict[str, tuple[np.ndarray, np.ndarray]],
    previous: dict[str, Stored],
    manifest: Manifest,
    model_folders: list[Path],
) -> int:
    """Write the build in one transaction on `conn` (which holds the build lock) and make it current; its id.

    `fresh`: the vectors of the stories embedded in this run; every other story must be in `previous` with the
    same content hash. `manifest`: the build's manifest but for `files` and `built_at`, filled in here."""
    from pgvector.psycopg import register_vector

    register_vector(conn)
    with conn.transaction():
        pgschema.ensure_vectors(conn, manifest.dimension, where)
        now = dt.datetime.now(dt.UTC)
        build_id = int(
            conn.execute(
                "INSERT INTO index_builds (built_at, manifest) VALUES (%s, '') RETURNING id", (now,)
            ).fetchone()[0]
        )
        kept = [previous[s.slug].story_id for s in stories if s.slug not in fresh]
        rows = _kept_rows(conn, kept)
        texts = [story_json(s) for s in stories]
        story_ids, p_parts, s_parts = [], [], []
        for story, text in zip(stories, texts):
            if story.slug in fresh:
                story_id, p_ids, s_ids = _insert_story(conn, build_id, story, text, fresh[story.slug])
            else:
                story_id = previous[story.slug].story_id
                p_ids, s_ids = rows[story_id]
            story_ids.append(story_id)
            p_parts.append(p_ids)
            s_parts.append(s_ids)
        gone = sorted({p.story_id for p in previous.values()} - set(story_ids))
        for table in ("index_stories", "index_paragraphs", "index_sentences"):
            column = "id" if table == "index_stories" else "story_id"
            conn.execute(f"UPDATE {table} SET died = %s WHERE died IS NULL AND {column} = ANY(%s)", (build_id, gone))
        arrays = {
            STORY_IDS: np.array(story_ids, dtype=np.int64),
            ID_FILES["paragraphs"]: np.concatenate(p_parts) if p_parts else np.zeros(0, np.int64),
            ID_FILES["sentences"]: np.concatenate(s_parts) if s_parts else np.zeros(0, np.int64),
        }
        files = _write_files(conn, build_id, stories, texts, arrays)
        done = manifest.model_copy(update={"built_at": now, "files": files})
        conn.execute("UPDATE index_builds SET manifest = %s WHERE id = %s", (done.model_dump_json(), build_id))
        for folder in model_folders:
            _store_model_folder(conn, folder)
        conn.execute(
            "INSERT INTO index_current (build_id) VALUES (%s) ON CONFLICT (singleton) DO UPDATE SET build_id = %s",
            (build_id, build_id),
        )
        _prune(conn, build_id)
    return build_id


def _write_files(
    conn: Any, build_id: int, stories: list[Story], texts: list[str], arrays: dict[str, np.ndarray]
) -> dict[str, str]:
    """The build folder's files but the vectors (the lexical index and sentence inputs, derived as for a folder
    build), stored in index_build_files; their checksums, as a manifest records them. stories.json is checked but
    not stored: serving assembles it from index_stories."""
    nothing = np.zeros((0, 0), dtype=np.float32)  # the vectors are rows in the database, not build files
    with tempfile.TemporaryDirectory(prefix="newsroom-pg-build-") as tmp:
        folder = Path(tmp)
        write_parts(folder, BuildContents.of(stories, nothing, nothing), texts)
        for name, array in arrays.items():
            np.save(folder / name, array, allow_pickle=False)
        files = {p.name: sha256_file(p) for p in sorted(folder.iterdir())}
        for path in sorted(folder.iterdir()):
            if path.name != "stories.json":
                conn.execute(
                    "INSERT INTO index_build_files (build_id, name, content) VALUES (%s, %s, %s)",
                    (build_id, path.name, path.read_bytes()),
                )
    return files


def _store_model_folder(conn: Any, folder: Path) -> None:
    """An ONNX export (models/<fingerprint>), once: a serving machine writes it into its own INDEX_DIR."""
    name = f"models/{folder.name}"
    if conn.execute("SELECT 1 FROM index_model_files WHERE folder = %s LIMIT 1", (name,)).fetchone():
        return
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        conn.execute(
            "INSERT INTO index_model_files (folder, name, content) VALUES (%s, %s, %s)",
            (name, str(path.relative_to(folder)), path.read_bytes()),
        )


def _prune(conn: Any, build_id: int) -> None:
    """Keep the newest KEEP_BUILDS builds (a process may still serve the one before); drop rows no kept build sees."""
    oldest = conn.execute(
        "SELECT MIN(id) FROM (SELECT id FROM index_builds ORDER BY id DESC LIMIT %s) k", (KEEP_BUILDS,)
    ).fetchone()[0]
    conn.execute("DELETE FROM index_stories WHERE died IS NOT NULL AND died <= %s", (oldest,))
    conn.execute("DELETE FROM index_builds WHERE id < %s", (oldest,))
