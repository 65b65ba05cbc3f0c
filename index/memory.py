"""An index held in memory, for `Library.from_stories` (benchmarks, tests, notebooks): same layout, no files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .embedder import Encoder
from .models import Story
from .store import BuildContents, IndexData, Manifest, StoryEntry, sentence_texts
from .vectors import make_index


def memory_index(stories: list[Story], encoder: Encoder) -> IndexData:
    """The index of `stories` held in memory (`Library.from_stories`: benchmarks, tests, notebooks): no files."""
    paragraphs = [p.text for s in stories for p in s.paragraphs]
    vectors = encoder.encode(paragraphs + sentence_texts(stories))
    contents = BuildContents.of(list(stories), vectors[: len(paragraphs)], vectors[len(paragraphs) :])
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
        stories=contents.stories,
        paragraph_vectors=make_index(contents.paragraph_vectors, encoder.dimension, "flat"),
        sentence_vectors=make_index(contents.sentence_vectors, encoder.dimension, "flat"),
        paragraph_bm25=contents.paragraph_bm25,
        sentence_bm25=contents.sentence_bm25,
        sentence_inputs=contents.sentence_inputs,
        question_form=contents.question_form,
    )
