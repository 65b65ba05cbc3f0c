"""A damaged model export (the ONNX model or tokenizer a build encodes questions with) is named when loading,
refused, and exported again by the next build, checked against the checksums its encoder.json records."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from index import IndexCorrupt, IndexMissing, IndexProblem, Library, build_index
from index.store import encoder_folder, read_build

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


def _export(index_dir: Path) -> Path:
    data = read_build(index_dir)
    folder = encoder_folder(data.path, data.manifest)
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
    assert Library.load(index_copy).ask(QUESTION).answered
