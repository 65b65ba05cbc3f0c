"""A damaged model export (the ONNX model or tokenizer a build encodes questions with, or the cross-encoder's) is named
when loading, refused, and repaired by the next `newsroom-bot build` (no --force), checked against the checksums its
json records."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from index import EngineOptions, IndexCorrupt, IndexMissing, IndexProblem, Library, build_index
from index.manifest import Manifest
from index.store import cross_encoder_folder, encoder_folder, read_build

from ..conftest import CONTENT

QUESTION = "How many White Helmets are still trapped in Syria?"


@pytest.fixture(scope="module")
def int8_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index built as `newsroom-bot build` builds it: int8, questions encoded by its own ONNX export."""
    index_dir = tmp_path_factory.mktemp("int8") / "index"
    assert build_index(CONTENT, index_dir).ok
    return index_dir


@pytest.fixture
def index_copy(tmp_path: Path, int8_index: Path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(int8_index, target, symlinks=True)  # copies: damage stays in this test's files
    return target


def _export(index_dir: Path, folder_of: Callable[[Path, Manifest], Path | None] = encoder_folder) -> Path:
    """The index's model export (`encoder_folder`), or its cross-encoder's (`cross_encoder_folder`)."""
    data = read_build(index_dir)
    folder = folder_of(data.path, data.manifest)
    assert folder is not None
    return folder


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.unlink()  # a new file: never write through a hard link into another export
    path.write_bytes(data[: len(data) // 2])


DAMAGE: dict[str, tuple[Callable[[Path], None], str, type[IndexProblem], bool]] = {
    # name: (what is done to the export, the file the error must name, the error, repair with --force)
    "truncated-model": (lambda e: truncate(e / "model-int8.onnx"), "model-int8.onnx is damaged", IndexCorrupt, True),
    "truncated-tokenizer": (lambda e: truncate(e / "tokenizer.json"), "tokenizer.json is damaged", IndexCorrupt, False),
    "missing-tokenizer": (lambda e: (e / "tokenizer.json").unlink(), "tokenizer.json is missing", IndexMissing, False),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_export_is_named_refused_and_rebuilt(index_copy: Path, case: str) -> None:
    damage, named, error, force = DAMAGE[case]
    damage(_export(index_copy))
    with pytest.raises(error) as caught:
        Library.load(index_copy)
    assert named in str(caught.value) and "newsroom-bot build" in str(caught.value)
    report = build_index(CONTENT, index_copy, force=force)  # `newsroom-bot build` (--force): exports it again
    assert report.ok and report.changed is force
    assert Library.load(index_copy).ask(QUESTION).shows_quotes


@pytest.fixture(scope="module")
def cross_encoder_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index built as `CROSS_ENCODER_MODEL=auto newsroom-bot build` builds it: the shipped cross-encoder exported beside it."""
    index_dir = tmp_path_factory.mktemp("cross_encoder") / "index"
    assert build_index(CONTENT, index_dir, EngineOptions(cross_encoder="auto")).ok
    return index_dir


CROSS_ENCODER_DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated-model": lambda e: truncate(e / "reader-int8.onnx"),
    "truncated-tokenizer": lambda e: truncate(e / "tokenizer.json"),
    "truncated-json": lambda e: truncate(e / "reader.json"),
    "missing-model": lambda e: (e / "reader-int8.onnx").unlink(),
    "missing-tokenizer": lambda e: (e / "tokenizer.json").unlink(),
    "missing-json": lambda e: (e / "reader.json").unlink(),
    "missing-folder": shutil.rmtree,
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CROSS_ENCODER_DAMAGE))
def test_a_damaged_cross_encoder_export_is_refused_and_repaired_by_a_plain_build(
    tmp_path: Path, cross_encoder_index: Path, case: str
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(cross_encoder_index, index_dir, symlinks=True)  # copies: the damage stays in this test's files
    CROSS_ENCODER_DAMAGE[case](_export(index_dir, cross_encoder_folder))
    with pytest.raises(IndexProblem, match="newsroom-bot build"):
        Library.load(index_dir)
    report = build_index(
        CONTENT, index_dir, EngineOptions(cross_encoder="auto")
    )  # `newsroom-bot build`, as /reindex runs it
    assert report.ok and not report.changed  # the same build, its cross-encoder export made whole again
    library = Library.load(index_dir)
    assert library.cross_encoder is not None and library.ask(QUESTION).quotes
