"""The model cache: an ONNX export is made once per model on a machine, every index links the files it serves from
it, a damaged cache entry is made again, a busy one is waited for, an unusable cache falls back to the index."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from filelock import FileLock

from index import EngineOptions, Library, build_index
from index.export_cache import EXPORTS, default_cache
from index.onnx_export import EXPORT_FORMAT
from index.store import encoder_folder, read_build

from ..conftest import CONTENT, ROOT

QUESTION = "How many White Helmets are still trapped in Syria?"


def _export(index_dir: Path) -> Path:
    data = read_build(index_dir)
    folder = encoder_folder(data.path, data.manifest)
    assert folder is not None
    return folder


def _entry(cache: Path, index_dir: Path) -> Path:
    return cache / EXPORTS / f"{read_build(index_dir).manifest.model_fingerprint}-f{EXPORT_FORMAT}"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache of this module's own, filled from the machine's (one export per model, as the issue wants), so
    damaging it leaves the machine's alone."""
    ours = tmp_path_factory.mktemp("model-cache")
    seed = tmp_path_factory.mktemp("seed") / "index"
    assert build_index(CONTENT, seed).ok  # the default cache: exported at most once per machine
    entry = _entry(default_cache() or ours, seed)
    shutil.copytree(entry, ours / EXPORTS / entry.name)
    return ours


def _exports_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("exported ")]


def test_a_second_index_links_the_export_and_serves_only_what_it_needs(
    tmp_path: Path, cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="index.onnx_export"):
        for name in ("first", "second"):
            assert build_index(CONTENT, tmp_path / name, EngineOptions(model_cache=cache)).ok
    assert _exports_logged(caplog) == []  # nothing exported: both came from the cache
    entry = _entry(cache, tmp_path / "first")
    for name in ("first", "second"):
        export = _export(tmp_path / name)
        assert sorted(p.name for p in export.iterdir()) == ["encoder.json", "model-int8.onnx", "tokenizer.json"]
        assert os.path.samefile(export / "model-int8.onnx", entry / "model-int8.onnx")  # a hard link, not a copy
    assert Library.load(tmp_path / "second").ask(QUESTION).quotes


def test_a_damaged_cache_entry_is_made_again(tmp_path: Path, cache: Path, caplog: pytest.LogCaptureFixture) -> None:
    first = tmp_path / "first"
    assert build_index(CONTENT, first, EngineOptions(model_cache=cache)).ok
    damaged = _entry(cache, first) / "model-int8.onnx"
    data = damaged.read_bytes()
    damaged.unlink()  # a new file: the index's hard link keeps the good bytes
    damaged.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="index.export_cache"):
        assert build_index(CONTENT, tmp_path / "second", EngineOptions(model_cache=cache)).ok
    assert "damaged: exporting it again" in caplog.text
    assert damaged.stat().st_size > len(data) // 2  # quantised again from the cached fp32 model
    assert Library.load(tmp_path / "second").ask(QUESTION).quotes


def test_a_build_waits_for_another_process_making_the_same_export(
    tmp_path: Path, cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    name = next(p.name for p in (cache / EXPORTS).iterdir() if p.is_dir())
    held = FileLock(cache / EXPORTS / f".{name}.lock")  # another process's lock, as the operating system sees it
    held.acquire()
    done = threading.Event()
    thread = threading.Thread(
        target=lambda: (build_index(CONTENT, tmp_path / "index", EngineOptions(model_cache=cache)), done.set())
    )
    with caplog.at_level(logging.INFO, logger="index.export_cache"):
        thread.start()
        for _ in range(600):
            if "waiting for another process" in caplog.text:
                break
            time.sleep(0.1)
        assert "waiting for another process" in caplog.text and not done.is_set()
        held.release()
        thread.join(timeout=600)
    assert done.is_set() and Library.load(tmp_path / "index").ask(QUESTION).quotes


EXPORT_WITHOUT_CACHE = """
import sys
from pathlib import Path
from index import EngineOptions, build_index
report = build_index(Path(sys.argv[1]), Path(sys.argv[2]), EngineOptions(model_cache=Path(sys.argv[3])))
print(report.ok, "sentence_transformers" in sys.modules)
"""


@pytest.mark.slow
def test_an_unusable_cache_exports_into_the_index_without_sentence_transformers(tmp_path: Path) -> None:
    """The export itself (here, with no cache to take it from) loads the packaged model with transformers alone."""
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache would be")
    args = [str(CONTENT), str(tmp_path / "index"), str(not_a_folder)]
    done = subprocess.run([sys.executable, "-c", EXPORT_WITHOUT_CACHE, *args], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.split() == ["True", "False"], done.stderr[-2000:]  # built; sentence-transformers not imported
    assert "is not usable" in done.stderr
    export = _export(tmp_path / "index")
    assert (export / "model.onnx").is_file() and (export / "model-int8.onnx").stat().st_nlink == 1
    assert Library.load(tmp_path / "index").ask(QUESTION).quotes
