"""An index held in memory, for `Library.from_stories` (benchmarks, tests, notebooks): same layout, no files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .embedder import Encoder
from .lexical import BM25
from .models import Story
from .store import IndexData, Manifest, StoryEntry, flat_index


def memory_index(stories: list[Story], encoder: Encoder) -> IndexData:
    """The index of `stories` held in memory (`Library.from_stories`: benchmarks, tests, notebooks): no files."""
    paragraphs = [p.text for s in stories for p in s.paragraphs]
    sentences = [p.sentence_text(i) for s in stories for p in s.paragraphs for i in range(len(p.sentences))]
    vectors = encoder.encode(paragraphs + sentences)
    now = dt.datetime.now(dt.UTC)
    manifest = Manifest(
        format_version=0,
        model=encoder.name,
        backend="memory",
        quantization=encoder.quantization,
        model_fingerprint=encoder.fingerprint,
        model_adapter=encoder.adapter,
        dimension=encoder.dimension,
        built_at=now,
        content_dir="",
        stories=[StoryEntry.of(s, now) for s in stories],
        files={},
    )
    return IndexData(
        path=Path("."),
        manifest=manifest,
        stories=list(stories),
        paragraph_vectors=flat_index(vectors[: len(paragraphs)], encoder.dimension),
        sentence_vectors=flat_index(vectors[len(paragraphs) :], encoder.dimension),
        paragraph_bm25=BM25.fit(paragraphs),
        sentence_bm25=BM25.fit(sentences),
    )
