"""The index on disk: FAISS vectors, BM25, parsed stories and a manifest, swapped in atomically.

Layout of an index folder::

    current -> builds/20261125T190102-1a2b3c   (a symlink, replaced in one rename)
    builds/<id>/manifest.json                   model, dimension, per-story hashes, file checksums, build time
    builds/<id>/stories.json                    the parsed stories (quotes are cut from these)
    builds/<id>/paragraphs.faiss, sentences.faiss
    builds/<id>/bm25-paragraphs.{npz,json}, bm25-sentences.{npz,json}
    builds/<id>/sentence-inputs.npz             what the ranker reads per sentence (index.sentence_inputs)
    builds/<id>/question-form.json              the stories' words, how questions are read (index.canonical)
    models/<fingerprint>/                       the ONNX export questions are encoded with (see onnx_export)

A process that opens `current` always sees a complete build: a new build is written in its own folder and
only then does `current` point at it. Every file is checked against the manifest's checksums on load.

The seam to other stores: `BuildContents` is what a build writes (derived once from the stories and their vectors;
a database store writes the same rows and arrays), `IndexData` is what serving reads back. Everything that grows
with the library is memory-mapped here (FAISS files, BM25 weights, sentence inputs): the processes serving a build
share one copy in the page cache, and only the parsed stories and the vocabulary are each process's own.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from pydantic import ValidationError

from .arrays import map_npz, save_npz
from .canonical import QuestionForm
from .checksums import file_problem, sha256_file
from .embedder import Encoder
from .errors import IndexCorrupt, IndexMismatch, IndexMissing
from .lexical import BM25
from .manifest import FORMAT_VERSION, CrossEncoderRecord, Manifest, StoryEntry
from .models import Story
from .sentence_inputs import DEFINITION, SentenceInputs
from .sentences import PARSER_VERSION
from .tokens import tokenize
from .vectors import StoredVectors, make_index

SENTENCE_INPUTS = "sentence-inputs.npz"
QUESTION_FORM = "question-form.json"  # the library's words, how questions are read (index.canonical)
STORIES, PARAGRAPH_VECTORS, SENTENCE_VECTORS = "stories.json", "paragraphs.faiss", "sentences.faiss"
CURRENT = "current"
BUILDS = "builds"
MODELS = "models"  # the model exports the builds name (see the layout above)
KEEP_BUILDS = 2
REBUILD_HINT = "rebuild it with: newsroom-bot build"
log = logging.getLogger(__name__)


def sentence_texts(stories: list[Story]) -> list[str]:
    """Every sentence of `stories`, in sentence-row order."""
    return [p.sentence_text(i) for s in stories for p in s.paragraphs for i in range(len(p.sentences))]


@dataclass(frozen=True)
class BuildContents:
    """What a build writes, whatever the store: the stories, their vectors (paragraph and sentence rows in
    `rows.RowLayout` order) and everything derived from them once, at build time, for serving."""

    stories: list[Story]
    paragraph_vectors: np.ndarray
    sentence_vectors: np.ndarray
    paragraph_bm25: BM25
    sentence_bm25: BM25
    sentence_inputs: SentenceInputs
    question_form: QuestionForm

    @classmethod
    def of(cls, stories: list[Story], paragraph_vectors: np.ndarray, sentence_vectors: np.ndarray) -> BuildContents:
        """Derive the lexical index, the sentence inputs and the question form from `stories` (each sentence
        tokenised once)."""
        sentences = sentence_texts(stories)
        terms = [tokenize(t) for t in sentences]
        paragraphs = [p.text for s in stories for p in s.paragraphs]
        return cls(
            stories=stories,
            paragraph_vectors=paragraph_vectors,
            sentence_vectors=sentence_vectors,
            paragraph_bm25=BM25.fit(paragraphs),
            sentence_bm25=BM25.from_terms(terms),
            sentence_inputs=SentenceInputs.of(sentences, terms),
            question_form=QuestionForm.of(paragraphs),
        )


@dataclass
class IndexData:
    """A loaded, checked build: what serving reads (the FAISS files and arrays memory-mapped, the stories in
    memory)."""

    path: Path
    manifest: Manifest
    stories: list[Story]
    paragraph_vectors: faiss.Index | StoredVectors  # FAISS files, or rows in PostgreSQL (index.pgvectors)
    sentence_vectors: faiss.Index | StoredVectors
    paragraph_bm25: BM25
    sentence_bm25: BM25
    sentence_inputs: SentenceInputs
    question_form: QuestionForm | None = None  # as the build stored it; None: made from the stories when needed


# The FAISS files are memory-mapped read-only (flat, IVF and HNSW alike), not copied: bot processes on one machine
# serving the same build share one copy of the vectors in the page cache. Builds never change a file in place (a
# new build is a new folder), so a mapping stays valid while its Library lives. See benchmarks.perf_shards.
READ_FLAGS = faiss.IO_FLAG_MMAP_IFC


def resolve_build(index_dir: Path) -> Path:
    """The build folder that `index_dir` stands for: its `current` build, or the folder itself."""
    current = index_dir / CURRENT
    if current.exists():
        return current.resolve()
    if (index_dir / "manifest.json").exists():
        return index_dir
    raise IndexMissing(f"no index at {index_dir}: build it with: newsroom-bot build --index {index_dir}")


def write_build(
    index_dir: Path,
    contents: BuildContents,
    *,
    model: str,
    backend: str,
    content_dir: Path,
    indexed_at: dict[str, dt.datetime],
    changed_at: dict[str, dt.datetime] | None = None,
    quantization: str = "fp32",
    model_fingerprint: str = "",
    model_adapter: str = "",
    encoder_dir: Path | None = None,
    index_type: str = "auto",
    cross_encoder: CrossEncoderRecord | None = None,
    encoder_format: int = 1,
) -> Path:
    """Write a complete build in a new folder, then point `current` at it in one atomic rename."""
    now = dt.datetime.now(dt.UTC)
    stories = contents.stories
    dimension = int(contents.paragraph_vectors.shape[1])
    build_id = f"{now:%Y%m%dT%H%M%S%f}-{os.getpid()}"
    builds = index_dir / BUILDS
    folder = builds / build_id
    staging = builds / f".{build_id}.partial"
    staging.mkdir(parents=True)
    try:
        _write_faiss(make_index(contents.paragraph_vectors, dimension, index_type), staging / "paragraphs.faiss")
        _write_faiss(make_index(contents.sentence_vectors, dimension, index_type), staging / "sentences.faiss")
        write_parts(staging, contents)
        manifest = build_manifest(
            stories,
            model=model,
            backend=backend,
            content_dir=content_dir,
            indexed_at=indexed_at,
            changed_at=changed_at,
            quantization=quantization,
            model_fingerprint=model_fingerprint,
            model_adapter=model_adapter,
            encoder_dir=encoder_dir,
            index_type=index_type,
            cross_encoder=cross_encoder,
            encoder_format=encoder_format,
            dimension=dimension,
            folder=folder,
            built_at=now,
            files={p.name: sha256_file(p) for p in sorted(staging.iterdir())},
        )
        (staging / "manifest.json").write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
        for path in staging.iterdir():
            _fsync(path)
        staging.rename(folder)
        link = index_dir / f".{CURRENT}.{build_id}"
        link.symlink_to(Path(BUILDS) / build_id)
        os.replace(link, index_dir / CURRENT)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _prune(builds, keep=folder)
    return folder


def build_manifest(
    stories: list[Story],
    *,
    model: str,
    backend: str,
    content_dir: Path,
    indexed_at: dict[str, dt.datetime],
    changed_at: dict[str, dt.datetime] | None,
    quantization: str,
    model_fingerprint: str,
    model_adapter: str,
    encoder_dir: Path | None,
    index_type: str,
    cross_encoder: CrossEncoderRecord | None,
    dimension: int,
    encoder_format: int = 1,
    folder: Path,
    built_at: dt.datetime | None = None,
    files: dict[str, str] | None = None,
) -> Manifest:
    """A build's manifest, whichever store writes it; the model exports are named relative to `folder`, where the
    build's files are read from."""
    now = built_at or dt.datetime.now(dt.UTC)
    return Manifest(
        format_version=FORMAT_VERSION,
        model=model,
        backend=backend,
        quantization=quantization,
        model_fingerprint=model_fingerprint,
        encoder_format=encoder_format,
        model_adapter=model_adapter,
        encoder_dir=os.path.relpath(encoder_dir, folder) if encoder_dir is not None else None,
        index_type=index_type,
        cross_encoder=cross_encoder.model_copy(update={"dir": os.path.relpath(cross_encoder.dir, folder)})
        if cross_encoder
        else None,
        sentence_inputs=DEFINITION,
        parser_version=PARSER_VERSION,
        dimension=dimension,
        built_at=now,
        content_dir=str(content_dir),
        stories=[StoryEntry.of(s, indexed_at.get(s.slug, now), (changed_at or {}).get(s.slug)) for s in stories],
        files=files or {},
    )


def story_json(story: Story) -> str:
    """One story as stories.json holds it (the PostgreSQL store keeps each story's text the same way)."""
    return json.dumps(story.model_dump(mode="json"), ensure_ascii=False)


def write_parts(folder: Path, contents: BuildContents, texts: list[str] | None = None) -> None:
    """Every file of a build but its vectors: the lexical indexes, the sentence inputs and stories.json (`texts`:
    each story's `story_json`, when the caller has them). The PostgreSQL store writes the same files."""
    contents.paragraph_bm25.save(folder / "bm25-paragraphs")
    contents.sentence_bm25.save(folder / "bm25-sentences")
    save_npz(folder / SENTENCE_INPUTS, contents.sentence_inputs.arrays())
    (folder / QUESTION_FORM).write_text(contents.question_form.to_json(), encoding="utf-8")
    texts = texts if texts is not None else [story_json(s) for s in contents.stories]
    (folder / "stories.json").write_text("[" + ", ".join(texts) + "]", encoding="utf-8")


def _write_faiss(index: faiss.Index, path: Path) -> None:
    """faiss.write_index's bytes, written by Python: a full disk is then an OSError (ENOSPC) naming the file,
    where faiss's own writer raises a RuntimeError that callers can't tell from a bug."""
    try:
        path.write_bytes(faiss.serialize_index(index).data)  # the uint8 array's own buffer: no copy
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from exc


def _fsync(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def _prune(builds: Path, keep: Path) -> None:
    """Drop old builds, keeping the newest few so a process still reading one is not surprised."""
    finished = sorted((p for p in builds.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
    for old in finished[:-KEEP_BUILDS]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def read_manifest(build: Path) -> Manifest:
    path = build / "manifest.json"
    if not path.exists():
        raise IndexMissing(f"no manifest in {build}; {REBUILD_HINT}")
    try:
        manifest = Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, UnicodeDecodeError, OSError) as exc:
        raise IndexCorrupt(f"manifest {path} is unreadable ({type(exc).__name__}); {REBUILD_HINT}") from exc
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatch(
            f"index {build} has format {manifest.format_version}, this version reads {FORMAT_VERSION}; {REBUILD_HINT}"
        )
    return manifest


def read_build(index_dir: Path, *, expect_model: str | None = None, expect_dimension: int | None = None) -> IndexData:
    """Load and check a build; raises an IndexProblem that says how to rebuild."""
    build = resolve_build(index_dir)
    manifest = read_manifest(build)
    if expect_model is not None and manifest.model != expect_model:
        raise IndexMismatch(
            f"index {build} was built with model {manifest.model!r} but the settings ask for {expect_model!r}; "
            f"{REBUILD_HINT} (or set MODEL={manifest.model})"
        )
    if expect_dimension is not None and manifest.dimension != expect_dimension:
        raise IndexMismatch(
            f"index {build} holds {manifest.dimension}-d vectors but the model makes {expect_dimension}-d; {REBUILD_HINT}"
        )
    return read_parts(build, manifest, *read_vectors(build))


def read_vectors(build: Path) -> tuple[faiss.Index, faiss.Index]:
    """The build folder's paragraph and sentence FAISS indexes, memory-mapped (IndexCorrupt if unreadable)."""
    try:
        paragraphs = faiss.read_index(str(build / PARAGRAPH_VECTORS), READ_FLAGS)
        sentences = faiss.read_index(str(build / SENTENCE_VECTORS), READ_FLAGS)
    except Exception as exc:
        raise IndexCorrupt(f"index {build} cannot be read ({type(exc).__name__}: {exc}); {REBUILD_HINT}") from exc
    return paragraphs, sentences


def read_parts(
    build: Path, manifest: Manifest, paragraphs: faiss.Index | StoredVectors, sentences: faiss.Index | StoredVectors
) -> IndexData:
    """Everything of a build folder but its vectors, checked against the manifest and against `paragraphs` and
    `sentences` (FAISS files, or rows in PostgreSQL: `index.pgstore` writes the same files into its folder)."""
    problem = file_problem(build, manifest.files)
    if problem is not None:
        raise IndexCorrupt(f"index file {build / problem.name} {problem.how}; {REBUILD_HINT}")
    try:
        stories = read_stories(build)
        paragraph_bm25 = BM25.load(build / "bm25-paragraphs")
        sentence_bm25 = BM25.load(build / "bm25-sentences")
        n_par = sum(len(s.paragraphs) for s in stories)
        n_sent = sum(len(p.sentences) for s in stories for p in s.paragraphs)
        inputs = _sentence_inputs(build, manifest, stories, n_sent)
        form = stored_form(build)
    except Exception as exc:
        raise IndexCorrupt(f"index {build} cannot be read ({type(exc).__name__}: {exc}); {REBUILD_HINT}") from exc
    counts = (paragraphs.ntotal, sentences.ntotal, paragraph_bm25.num_docs, sentence_bm25.num_docs)
    if (
        counts != (n_par, n_sent, n_par, n_sent)
        or paragraphs.d != manifest.dimension
        or sentences.d != manifest.dimension
    ):
        raise IndexCorrupt(f"index {build} does not match its stories (rows {counts}); {REBUILD_HINT}")
    return IndexData(build, manifest, stories, paragraphs, sentences, paragraph_bm25, sentence_bm25, inputs, form)


def stored_form(build: Path) -> QuestionForm | None:
    """The build's question form; None for a build made before forms were stored, or by another version."""
    path = build / QUESTION_FORM
    return QuestionForm.from_json(path.read_text(encoding="utf-8")) if path.exists() else None


def read_stories(build: Path) -> list[Story]:
    """The build folder's parsed stories (check the manifest's checksums first)."""
    return [Story.model_validate(s) for s in json.loads((build / STORIES).read_text(encoding="utf-8"))]


def _sentence_inputs(build: Path, manifest: Manifest, stories: list[Story], sentences: int) -> SentenceInputs:
    """The build's stored sentence inputs, mapped; computed here (slowly) when code that computes them otherwise
    made the build, until the next `newsroom-bot build` stores them anew."""
    if manifest.sentence_inputs == DEFINITION:
        return SentenceInputs.from_arrays(map_npz(build / SENTENCE_INPUTS), sentences)
    log.warning("index %s stores sentence inputs of another version: computing them at load; %s", build, REBUILD_HINT)
    return SentenceInputs.of(sentence_texts(stories))


def check_encoder(manifest: Manifest, encoder: Encoder, where: Path | str = "the index") -> None:
    """Refuse a question encoder whose vectors would not be comparable with the index's.

    Same model (by fingerprint when both sides know it, else by name), same quantisation, same dimension.
    fp32 ONNX and fp32 torch give the same vectors (tests/engine/test_onnx.py), so the backend may differ; int8
    and fp32 may not.
    """
    name, theirs = encoder.name, encoder.fingerprint
    if (manifest.model_fingerprint and theirs and theirs != manifest.model_fingerprint) or (
        not (manifest.model_fingerprint and theirs) and name != manifest.model
    ):
        raise IndexMismatch(
            f"{where} was embedded with model {manifest.model!r} ({manifest.model_fingerprint or 'no fingerprint'}) "
            f"but questions would be encoded with {name!r} ({theirs or 'no fingerprint'}); {REBUILD_HINT}"
        )
    quantization = encoder.quantization
    if quantization != manifest.quantization:
        raise IndexMismatch(
            f"{where} holds {manifest.quantization} embeddings but questions would be encoded in {quantization}; "
            f"{REBUILD_HINT} (QUANTIZATION={quantization})"
        )
    dimension = encoder.dimension
    if dimension != manifest.dimension:
        raise IndexMismatch(
            f"{where} holds {manifest.dimension}-d vectors but the model makes {dimension}-d; {REBUILD_HINT}"
        )


def encoder_folder(build: Path, manifest: Manifest) -> Path | None:
    return (build / manifest.encoder_dir).resolve() if manifest.encoder_dir else None


def cross_encoder_folder(build: Path, manifest: Manifest) -> Path | None:
    return (build / manifest.cross_encoder.dir).resolve() if manifest.cross_encoder else None
