"""The build being served, as the next file build sees it: read once, for everything the new build carries over.

A new build reuses from the current one the vectors of unchanged stories (same content hash, same model and
quantisation), when each story's text last changed, and whether anything that shapes a build changed at all
(index type, cross-encoder, sentence inputs), and the sentences of paragraphs it already split. `read_previous` reads the build `current` points at once: one manifest and
one set of files, never parts of two builds. A damaged build is never "unchanged" (it is written again) and gives
no vectors to reuse; its manifest still gives the stories' history. A build whose manifest can't be read gives
nothing: the next build starts afresh. (A PostgreSQL build's counterpart is `pgbuild.current`.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from .checksums import file_problem
from .errors import IndexProblem
from .manifest import Manifest
from .models import Sentence, Story
from .sentences import PARSER_VERSION
from .store import read_manifest, read_stories, read_vectors, resolve_build
from .vectors import all_rows

Reusable = tuple[str, np.ndarray, np.ndarray, dt.datetime]  # content hash, paragraph and sentence vectors, indexed at


@dataclass(frozen=True)
class PreviousBuild:
    """The current build's manifest and, when every file it records is whole, its stories and vectors."""

    manifest: Manifest
    stories: list[Story]
    vectors: tuple[faiss.Index, faiss.Index] | None  # None: a damaged build, nothing of it is reused

    def reusable(self, model_id: str, quantization: str, encoder_format: int) -> dict[str, Reusable]:
        """Each story's vectors by slug, when the build used this model, quantisation and export format (else none)."""
        manifest = self.manifest
        made = (manifest.model_fingerprint, manifest.quantization, manifest.encoder_format)
        if self.vectors is None or made != (model_id, quantization, encoder_format):
            return {}
        paragraphs, sentences = (all_rows(v) for v in self.vectors)
        entries = {e.slug: e for e in manifest.stories}
        out: dict[str, Reusable] = {}
        p_row = s_row = 0
        for story in self.stories:
            n_p, n_s = len(story.paragraphs), sum(len(p.sentences) for p in story.paragraphs)
            rows = (paragraphs[p_row : p_row + n_p], sentences[s_row : s_row + n_s])
            out[story.slug] = (story.content_hash, *rows, entries[story.slug].indexed_at)
            p_row, s_row = p_row + n_p, s_row + n_s
        return out

    def sentences(self) -> dict[str, tuple[Sentence, ...]]:
        """The sentences of every paragraph by its text, when they were split by today's rules (else none)."""
        if self.manifest.parser_version != PARSER_VERSION:
            return {}
        return {p.text: p.sentences for s in self.stories for p in s.paragraphs}


def read_previous(index_dir: Path) -> PreviousBuild | None:
    """The build `index_dir`'s `current` points at, read once; None when there is none or its manifest is unusable."""
    try:
        build = resolve_build(index_dir)
        manifest = read_manifest(build)
    except IndexProblem:
        return None
    if file_problem(build, manifest.files) is not None:
        return PreviousBuild(manifest, [], None)
    try:
        stories, vectors = read_stories(build), read_vectors(build)
    except (IndexProblem, ValueError, OSError):
        return PreviousBuild(manifest, [], None)
    counts = tuple((v.ntotal, v.d) for v in vectors)
    n_par, n_sent = (
        sum(len(s.paragraphs) for s in stories),
        sum(len(p.sentences) for s in stories for p in s.paragraphs),
    )
    if counts != ((n_par, manifest.dimension), (n_sent, manifest.dimension)):
        return PreviousBuild(manifest, [], None)
    return PreviousBuild(manifest, stories, vectors)
