"""Rebuilding the index from the content folder: incremental, locked, atomic.

Unchanged stories (same content hash, same model files, same quantisation) reuse their vectors from the
current build, so an editor's fix to one story re-embeds that story only. The lock stops two builds racing
on one index. The model is exported to ONNX once per machine (the model cache, `index.export_cache`) and linked
into the index (`models/<fingerprint>/`); unless an encoder is passed in, the stories are embedded with that
export, so the index and the questions share one encoder.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from filelock import FileLock, Timeout
from pydantic import BaseModel, Field

from . import pgbuild, pgstore
from .cross_encoder import CROSS_ENCODER_AUTO
from .embedder import Encoder, fingerprint, resolve_adapter
from .errors import BuildLocked, ModelNotFound
from .export_cache import default_cache
from .leftovers import remove_leftovers
from .models import Story
from .onnx_export import EXPORT_FORMAT
from .options import EngineOptions
from .postgres import redacted
from .previous import read_previous
from .sentence_inputs import DEFINITION
from .store import (
    MODELS,
    BuildContents,
    CrossEncoderRecord,
    Manifest,
    build_manifest,
    write_build,
)
from .stories import load_stories
from .vectors import choose_type
from .weights_file import cross_encoder_fingerprint

DEFAULT_QUANTIZATION = "int8"


class Progress(Protocol):
    """What `build_index` reports embedding progress to; the CLI passes a tqdm-backed one on a terminal."""

    def update(self, n: int) -> None: ...

    def close(self) -> None: ...


class BuildReport(BaseModel):
    index: str
    stories: list[str] = Field(description="slugs in the new build")
    embedded: list[str] = Field(description="slugs whose text was embedded in this run")
    reused: list[str] = Field(description="slugs whose vectors came from the previous build")
    errors: list[str] = Field(description="one line per story file that could not be used")
    paragraphs: int
    sentences: int
    changed: bool

    @property
    def ok(self) -> bool:
        return bool(self.stories) and not self.errors


LOCK_FILE, HOLDER_FILE = ".build.lock", ".build.holder"


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the index, from any process on this machine; a second builder is told who holds it.

    The lock is the operating system's (filelock: flock on Unix, LockFileEx on Windows), so it dies with its
    process; who holds it is written to a file of its own beside it, for the message.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(index_dir / LOCK_FILE, timeout=0)
    holder = index_dir / HOLDER_FILE
    try:
        lock.acquire()
    except Timeout:
        raise BuildLocked(f"another build holds the lock on {index_dir}: {_holder(holder)}") from None
    try:
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        holder.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": started}))
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


def _holder(path: Path) -> str:
    try:
        return path.read_text().strip() or "another process"
    except OSError:
        return "another process"


def _sentence_texts(story: Story) -> list[str]:
    return [p.sentence_text(i) for p in story.paragraphs for i in range(len(p.sentences))]


def _current(manifest: Manifest | None) -> tuple[str, str, str] | None:
    """The current build's index type, cross-encoder fingerprint and sentence inputs' definition: a change of any writes
    a new build."""
    if manifest is None:
        return None
    return (
        manifest.index_type,
        manifest.cross_encoder.fingerprint if manifest.cross_encoder else "",
        manifest.sentence_inputs,
    )


def _cross_encoder_plan(
    model: str, index_dir: Path, setting: str | None, *, custom_encoder: bool
) -> CrossEncoderRecord | None:
    """Where the cross-encoder's ONNX export goes beside the index, or None when it is off or does not apply."""
    from .cross_encoder import CrossEncoderError, CrossEncoderFile, resolve_cross_encoder
    from .cross_encoder_onnx import CROSS_ENCODER_QUANTIZATION

    if setting is not None and setting.lower() == CROSS_ENCODER_AUTO and custom_encoder:
        return None
    path = resolve_cross_encoder(setting)
    if path is None:
        return None
    base = fingerprint(model, "none")
    trained_on = CrossEncoderFile.read(path).meta.get("base")
    if trained_on != base:
        if setting is not None and setting.lower() == CROSS_ENCODER_AUTO:
            return None  # the shipped cross-encoder fits the packaged model only
        raise CrossEncoderError(
            f"cross-encoder {path} was trained on another model than {model!r}; set CROSS_ENCODER_MODEL=none"
        )
    cross_encoder_fp = cross_encoder_fingerprint(path, base)
    # the export itself is `_exported_cross_encoder`'s, on every build with stories (from the model cache when it is there)
    return CrossEncoderRecord(
        file=str(path),
        fingerprint=cross_encoder_fp,
        dir=str(index_dir / MODELS / f"reader-{cross_encoder_fp}"),
        quantization=CROSS_ENCODER_QUANTIZATION,
    )


def _exported_cross_encoder(record: CrossEncoderRecord, model: str, cache: Path | None) -> CrossEncoderRecord:
    """Make the cross-encoder's export the record plans, or repair it (a damaged or missing file, a removed folder: linked
    again from the model cache, else exported again); the record then names the file, not its path."""
    from .cross_encoder_export import export_cross_encoder

    export_cross_encoder(Path(record.file), Path(record.dir), model, record.fingerprint, cache=cache)
    return record.model_copy(update={"file": Path(record.file).name})


def _text_changes(current: Manifest | None, stories: list[Story], now: dt.datetime) -> dict[str, dt.datetime]:
    """When each story's text last changed, carried from build to build (whatever the model).

    A story seen for the first time has no entry: publishing is not an update. Front-matter-only edits
    keep the old date because `Story.text_hash` covers only the title and paragraphs.
    """
    if current is None:
        return {}
    entries = {e.slug: e for e in current.stories}
    out: dict[str, dt.datetime] = {}
    for story in stories:
        old = entries.get(story.slug)
        if old is not None and old.text_hash is not None and old.text_hash != story.text_hash:
            out[story.slug] = now
        elif old is not None and old.changed_at is not None:
            out[story.slug] = old.changed_at
    return out


def build_index(
    content_dir: Path,
    index_dir: Path,
    options: EngineOptions | None = None,
    *,
    encoder: Encoder | None = None,
    progress: Callable[[int], Progress] | None = None,
    force: bool = False,
) -> BuildReport:
    """Parse every story, embed what changed, write a new build and swap it in, as `options` say (the defaults
    without).

    `options.database` (DATABASE_URL): the build goes into PostgreSQL (`index.pgbuild`) instead of `index_dir`'s
    files; `index_dir` still holds the model exports, which the build also stores in the database.

    Bad story files are reported in `BuildReport.errors` and left out; the good ones are still indexed.
    If nothing changed (same stories, same hashes, same model) no new build is written. `quantization`
    ("int8" or "fp32") picks the ONNX model that embeds; a passed `encoder` brings its own. `index_type`
    is the FAISS index kind (see `vectors.choose_type`); changing it rewrites the index without re-embedding.
    `adapter` ("auto", "none" or a file) is merged into the model before export (see `index.adapter`).
    `cross_encoder` ("none", "auto" or a file; see `index.cross_encoder`) is exported beside the index; "auto" is the shipped
    cross-encoder when the index embeds with the packaged model's own export (no custom `encoder`). Off by default: the
    shipped cross-encoder did not beat the ranker on the dev sets (docs/results.md).
    Both exports are made once per model in `model_cache` (default `export_cache.default_cache()`) and linked
    into the index; each build checks them and repairs a damaged one (`index.export_cache`).
    """
    content_dir, index_dir = Path(content_dir), Path(index_dir)
    options = options or EngineOptions()
    model, quantization, index_type = options.model, options.quantization, options.index_type
    adapter, cross_encoder, model_cache, database = (
        options.adapter,
        options.cross_encoder,
        options.model_cache,
        options.database,
    )
    choose_type(0, index_type)  # a bad INDEX_TYPE fails before any work
    if encoder is not None:
        model, quantization = encoder.name, encoder.quantization
    quantization = quantization or DEFAULT_QUANTIZATION
    with _locked(index_dir, database) as connection:
        remove_leftovers(index_dir)  # the lock is ours: no live build is writing them
        in_files = read_previous(index_dir) if database is None else None  # read once for all this build reuses
        loaded = load_stories(content_dir, known=in_files.sentences() if in_files else None)
        errors = [str(e) for e in loaded.errors]
        stories = loaded.stories
        model_id = (encoder.fingerprint if encoder is not None else "") or fingerprint(model, adapter)
        adapter_name = encoder.adapter if encoder is not None else _adapter_name(model, adapter)
        cache = model_cache or default_cache()
        export = _export(
            model, model_id, index_dir, quantization, adapter, cache, required=encoder is None and bool(stories)
        )
        cross_encoder_record = _cross_encoder_plan(model, index_dir, cross_encoder, custom_encoder=encoder is not None)
        if (
            cross_encoder_record is not None and stories
        ):  # checked and repaired on every build, as the embedder's export
            cross_encoder_record = _exported_cross_encoder(cross_encoder_record, model, cache)
        in_database = pgbuild.current(connection) if connection is not None else None
        current_manifest = in_database[1] if in_database else in_files.manifest if in_files else None
        previous: dict[
            str, tuple[Any, ...]
        ]  # slug -> (content hash, paragraph vectors, sentence vectors, indexed at, ...)
        if force:
            previous = {}
        elif connection is not None:
            previous = pgbuild.previous_rows(in_database, model_id, quantization, EXPORT_FORMAT)
        else:
            previous = dict(in_files.reusable(model_id, quantization, EXPORT_FORMAT)) if in_files else {}
        to_embed = [s for s in stories if previous.get(s.slug, ("",))[0] != s.content_hash]
        unchanged = (
            not to_embed
            and set(previous) == {s.slug for s in stories}
            and _current(current_manifest)
            == (index_type, cross_encoder_record.fingerprint if cross_encoder_record else "", DEFINITION)
        )
        if unchanged or not stories:  # no stories: `errors` names each file that could not be used (none: empty)
            return _report(index_dir, stories, [], (), errors, changed=False)

        fresh: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if to_embed:
            if encoder is None:
                from .onnx_encoder import OnnxEncoder

                assert export is not None  # `_export(required=True)` made it or raised: there was no encoder
                encoder = OnnxEncoder(export, quantization, threads=1, workers=os.cpu_count() or 1)
            texts = [p.text for s in to_embed for p in s.paragraphs] + [t for s in to_embed for t in _sentence_texts(s)]
            bar = progress(len(texts)) if progress else None
            vectors = encode_longest_first(encoder, texts, bar)
            p_row = 0
            s_row = sum(len(s.paragraphs) for s in to_embed)
            for story in to_embed:
                n_p, n_s = len(story.paragraphs), len(_sentence_texts(story))
                fresh[story.slug] = (vectors[p_row : p_row + n_p], vectors[s_row : s_row + n_s])
                p_row, s_row = p_row + n_p, s_row + n_s
        now = dt.datetime.now(dt.UTC)
        indexed_at = {s.slug: (now if s.slug in fresh else previous[s.slug][3]) for s in stories}
        changed_at = _text_changes(current_manifest, stories, now)
        described: dict[str, Any] = {  # what the manifest records, whichever store the build goes to
            "model": model,
            "backend": encoder.backend if encoder is not None else "onnx",
            "content_dir": content_dir,
            "indexed_at": indexed_at,
            "changed_at": changed_at,
            "quantization": quantization,
            "model_fingerprint": model_id,
            "encoder_format": EXPORT_FORMAT,
            "model_adapter": adapter_name,
            "encoder_dir": export,
            "index_type": index_type,
            "cross_encoder": cross_encoder_record,
        }
        if connection is not None:
            assert database is not None
            dimension = encoder.dimension if encoder is not None else current_manifest.dimension  # type: ignore[union-attr]
            manifest = build_manifest(
                stories, dimension=dimension, folder=index_dir / pgstore.FOLDER / pgstore.PREFIX, **described
            )
            exports = [
                p for p in (export, Path(cross_encoder_record.dir) if cross_encoder_record else None) if p is not None
            ]
            stored = {slug: entry[4] for slug, entry in previous.items()}
            pgbuild.write_database_build(connection, redacted(database), stories, fresh, stored, manifest, exports)
            return _report(redacted(database), stories, to_embed, fresh, errors)
        paragraph_parts, sentence_parts = [], []
        for story in stories:
            par, sen = fresh[story.slug] if story.slug in fresh else previous[story.slug][1:3]
            paragraph_parts.append(par)
            sentence_parts.append(sen)
        dimension = paragraph_parts[0].shape[1]
        paragraphs = np.vstack(paragraph_parts).reshape(-1, dimension)
        contents = BuildContents.of(stories, paragraphs, np.vstack(sentence_parts).reshape(-1, dimension))
        write_build(index_dir, contents, **described)
        return _report(index_dir, stories, to_embed, fresh, errors)


def _report(
    where: Path | str,
    stories: list[Story],
    embedded: list[Story],
    fresh: Collection[str],
    errors: list[str],
    *,
    changed: bool = True,
) -> BuildReport:
    """What a build did (or, `changed` False, found already done): its stories, which were embedded, which reused."""
    return BuildReport(
        index=str(where),
        stories=[s.slug for s in stories],
        embedded=[s.slug for s in embedded],
        reused=[s.slug for s in stories if s.slug not in fresh],
        errors=errors,
        paragraphs=sum(len(s.paragraphs) for s in stories),
        sentences=sum(len(_sentence_texts(s)) for s in stories),
        changed=changed,
    )


@contextmanager
def _locked(index_dir: Path, database: str | None) -> Iterator[Any]:
    """The build's lock: the index folder's, or the database's (then the connection the build writes with)."""
    if database is None:
        with build_lock(index_dir):
            yield None
        return
    index_dir.mkdir(parents=True, exist_ok=True)  # the model exports live there
    with pgbuild.build_lock(database) as connection:
        yield connection


def _adapter_name(model: str, adapter: str | None) -> str:
    """The file name of the adapter the build merges into `model` ("" for none): what the manifest records."""
    path = resolve_adapter(model, adapter)
    return path.name if path else ""


def _export(
    model: str,
    model_id: str,
    index_dir: Path,
    quantization: str,
    adapter: str | None,
    cache: Path | None,
    *,
    required: bool,
) -> Path | None:
    """The index's ONNX export of `model`, made (or repaired) from the model cache if missing or damaged; None for
    a custom encoder that is no model on disk."""
    from .onnx_export import ensure_export

    try:
        target = index_dir / MODELS / model_id
        return ensure_export(model, target, quantization, model_id=model_id, adapter=adapter, cache=cache)
    except ModelNotFound:
        if required:
            raise
        return None


def encode_longest_first(encoder: Encoder, texts: list[str], bar: Progress | None, chunk: int = 256) -> np.ndarray:
    """Encode in chunks, longest first (less padding), and restore the original order."""
    order = np.argsort([-len(t) for t in texts], kind="stable")
    out = np.empty((len(texts), encoder.dimension), dtype=np.float32)
    for start in range(0, len(texts), chunk):
        rows = order[start : start + chunk]
        out[rows] = encoder.encode([texts[i] for i in rows])
        if bar:
            bar.update(len(rows))
    if bar:
        bar.close()
    return out
