"""The manifest of a build: which model embedded it, how, when, which stories with which hashes, which files.

Read on every load (and by every build, to see what it can reuse), so it says everything a process must check
before trusting a build: the format, the model's fingerprint and quantisation, the exports' folders, the
definition the sentence inputs were computed with, and each file's checksum.
"""

from __future__ import annotations

import datetime as dt

from pydantic import AliasChoices, BaseModel, Field

from .models import Story

FORMAT_VERSION = 3  # 2: model fingerprint, quantisation and ONNX export; 3: sentence-inputs.npz, mapped arrays


class StoryEntry(BaseModel):
    slug: str
    file: str
    content_hash: str
    title: str
    paragraphs: int
    sentences: int
    indexed_at: dt.datetime
    text_hash: str | None = None
    changed_at: dt.datetime | None = Field(default=None, description="when a build last saw the story's text change")

    @classmethod
    def of(cls, story: Story, indexed_at: dt.datetime, changed_at: dt.datetime | None = None) -> StoryEntry:
        """The manifest's line for `story`, whether the build is written to disk or held in memory."""
        return cls(
            slug=story.slug,
            file=story.file,
            content_hash=story.content_hash,
            title=story.title,
            paragraphs=len(story.paragraphs),
            sentences=sum(len(p.sentences) for p in story.paragraphs),
            indexed_at=indexed_at,
            text_hash=story.text_hash,
            changed_at=changed_at,
        )


class CrossEncoderRecord(BaseModel):
    """The cross-encoder exported beside the index: which file, which export, which quantisation."""

    file: str = Field(description="the cross-encoder .npz merged into the model (file name)")
    fingerprint: str = Field(description="id of the cross-encoder file and the model it was merged into")
    dir: str = Field(description="the ONNX export, relative to the build folder")
    quantization: str = Field(default="int8", description="the ONNX file serving runs: fp32 or int8")


class Manifest(BaseModel):
    format_version: int
    model: str
    backend: str = Field(description="what embedded the stories: onnx, sentence-transformers, ...")
    quantization: str = Field(default="fp32", description="fp32 or int8: questions must be encoded alike")
    model_fingerprint: str = Field(default="", description="id of the model files (embedder.fingerprint)")
    encoder_format: int = Field(
        default=1, description="the ONNX export format (onnx_export.EXPORT_FORMAT) that encoded the vectors"
    )
    model_adapter: str = Field(default="", description="the LoRA adapter merged into the model, if any (file name)")
    encoder_dir: str | None = Field(default=None, description="the ONNX export, relative to the build folder")
    index_type: str = Field(default="auto", description="the INDEX_TYPE the FAISS files were built for")
    cross_encoder: CrossEncoderRecord | None = Field(
        default=None,
        validation_alias=AliasChoices("cross_encoder", "reader"),  # "reader": its name in manifests written before
        description="the cross-encoder exported with this index, if any",
    )
    sentence_inputs: str = Field(default="", description="how sentence-inputs.npz was computed (its DEFINITION)")
    parser_version: str = Field(default="", description="the sentence rules the stories were split by")
    dimension: int
    built_at: dt.datetime
    content_dir: str
    stories: list[StoryEntry]
    files: dict[str, str]

    @property
    def paragraph_count(self) -> int:
        return sum(s.paragraphs for s in self.stories)

    @property
    def sentence_count(self) -> int:
        return sum(s.sentences for s in self.stories)
