"""Shared fixtures: one real embedding model and one real index per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index import Library, build_index, load_encoder
from index.embedder import Encoder

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
SEED_SLUG = "white-helmets-trapped-in-syria"


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The packaged all-MiniLM-L6-v2, loaded once (offline)."""
    return load_encoder()


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Path:
    """A real index of the shipped content, built once per session."""
    index_dir = tmp_path_factory.mktemp("index")
    report = build_index(CONTENT, index_dir, encoder=encoder)
    assert report.ok, report.errors
    return index_dir


@pytest.fixture(scope="session")
def library(built_index: Path, encoder: Encoder) -> Library:
    return Library.load(built_index, encoder=encoder)


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped stories."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target
