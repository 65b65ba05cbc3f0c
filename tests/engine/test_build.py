"""Building the index: incremental, atomic, locked, and tolerant of bad story files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index import (
    BuildLocked,
    Encoder,
    EncoderWrapper,
    EngineOptions,
    IndexCorrupt,
    IndexMismatch,
    IndexMissing,
    Library,
    build_index,
)
from index.build import build_lock
from index.leftovers import leftovers
from index.store import read_build, resolve_build

from ..conftest import ROOT


class CountingEncoder(EncoderWrapper):
    """The real encoder, counting what it is asked to embed."""

    def __init__(self, inner: Encoder) -> None:
        super().__init__(inner)
        self.texts = 0

    def encode(self, texts, *, batch_size: int = 64, progress: bool = False) -> np.ndarray:  # type: ignore[no-untyped-def]
        self.texts += len(texts)
        return self.inner.encode(texts, batch_size=batch_size)


class FailingEncoder(CountingEncoder):
    def encode(self, texts, *, batch_size: int = 64, progress: bool = False) -> np.ndarray:  # type: ignore[no-untyped-def]
        raise RuntimeError("out of memory (simulated)")


RENAME_HINT = "rename the file (letters, digits and dashes are safest)"


def _add_story(content: Path, name: str = "second.md", body: str = "A bridge collapsed on Tuesday.") -> None:
    (content / name).write_text(f"---\ntitle: Second\nsources: [AP]\n---\n\n{body}\n", encoding="utf-8")


def test_incremental_build_embeds_only_what_changed(tmp_path: Path, content_copy: Path, encoder: Encoder) -> None:
    counting = CountingEncoder(encoder)
    index_dir = tmp_path / "index"
    first = build_index(content_copy, index_dir, encoder=counting)
    assert first.changed and first.embedded == ["white-helmets-trapped-in-syria"]
    seeded = counting.texts
    assert seeded == first.paragraphs + first.sentences

    again = build_index(content_copy, index_dir, encoder=counting)
    assert not again.changed and counting.texts == seeded

    _add_story(content_copy)
    third = build_index(content_copy, index_dir, encoder=counting)
    assert third.embedded == ["second"] and third.reused == ["white-helmets-trapped-in-syria"]
    assert counting.texts == seeded + 2  # one paragraph, one sentence
    library = Library.load(index_dir, encoder=encoder)
    assert {s.slug for s in library.stories()} == {"white-helmets-trapped-in-syria", "second"}
    assert library.ask("What collapsed on Tuesday?").quotes[0].story == "second"


def test_reused_vectors_equal_fresh_ones(tmp_path: Path, content_copy: Path, encoder: Encoder) -> None:
    build_index(content_copy, tmp_path / "a", encoder=encoder)
    _add_story(content_copy)
    build_index(content_copy, tmp_path / "a", encoder=encoder)
    build_index(content_copy, tmp_path / "b", encoder=encoder)
    a, b = read_build(tmp_path / "a"), read_build(tmp_path / "b")
    assert np.allclose(
        a.sentence_vectors.reconstruct_n(0, a.sentence_vectors.ntotal),
        b.sentence_vectors.reconstruct_n(0, b.sentence_vectors.ntotal),
        atol=1e-5,
    )


def test_failed_build_leaves_the_old_index_serving(tmp_path: Path, content_copy: Path, encoder: Encoder) -> None:
    index_dir = tmp_path / "index"
    build_index(content_copy, index_dir, encoder=encoder)
    before = resolve_build(index_dir)
    _add_story(content_copy)
    with pytest.raises(RuntimeError, match="simulated"):
        build_index(content_copy, index_dir, encoder=FailingEncoder(encoder))
    assert resolve_build(index_dir) == before
    assert [s.slug for s in Library.load(index_dir, encoder=encoder).stories()] == ["white-helmets-trapped-in-syria"]
    assert not [p for p in (index_dir / "builds").iterdir() if p.name.endswith(".partial")]


def test_bad_story_files_are_reported_and_good_ones_indexed(
    tmp_path: Path, content_copy: Path, encoder: Encoder
) -> None:
    (content_copy / "broken.md").write_bytes(b"---\ntitle: [unclosed\n---\n\nText.\n")
    (content_copy / "empty.txt").write_bytes(b"")
    report = build_index(content_copy, tmp_path / "index", encoder=encoder)
    assert report.stories == ["white-helmets-trapped-in-syria"]
    assert len(report.errors) == 2 and not report.ok
    assert any("broken.md:2" in e for e in report.errors) and any("empty.txt" in e for e in report.errors)


def test_a_file_name_that_is_not_utf8_is_one_error_and_the_rest_are_indexed(
    tmp_path: Path, content_copy: Path, encoder: Encoder
) -> None:
    try:
        (content_copy / os.fsdecode(b"caf\xe9.txt")).write_text("A bridge collapsed on Tuesday.\n", encoding="utf-8")
    except OSError:
        pytest.skip("this file system refuses file names that are not UTF-8")
    report = build_index(content_copy, tmp_path / "index", encoder=encoder)
    assert report.stories == ["white-helmets-trapped-in-syria"] and report.changed
    assert report.errors == [f"{content_copy}/caf\\xe9.txt: its file name is not UTF-8: " + RENAME_HINT]
    report.model_dump_json().encode("utf-8")  # the error line can be printed, logged and sent anywhere
    assert [s.slug for s in Library.load(tmp_path / "index", encoder=encoder).stories()] == report.stories


def test_second_build_is_refused_while_one_holds_the_lock(tmp_path: Path, content_copy: Path, encoder: Encoder) -> None:
    with build_lock(tmp_path / "index"), pytest.raises(BuildLocked, match="pid"):
        build_index(content_copy, tmp_path / "index", encoder=encoder)


def test_the_engine_imports_and_locks_without_fcntl(tmp_path: Path) -> None:
    """Windows has no fcntl: `import index` and the build lock must not need it (filelock picks the OS's lock)."""
    script = (
        "import sys, warnings; sys.modules['fcntl'] = None; warnings.simplefilter('ignore')\n"
        "from pathlib import Path\nimport index\nfrom index.build import build_lock\n"
        "with build_lock(Path(sys.argv[1])):\n"
        "    try:\n        with build_lock(Path(sys.argv[1])): print('not locked')\n"
        "    except index.BuildLocked as exc: print('locked', 'pid' in str(exc))\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "index")], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["locked", "True"]


def test_missing_corrupt_and_mismatched_indexes_say_how_to_rebuild(
    tmp_path: Path, content_copy: Path, encoder: Encoder
) -> None:
    with pytest.raises(IndexMissing, match="newsroom-bot build"):
        Library.load(tmp_path / "nowhere", encoder=encoder)
    index_dir = tmp_path / "index"
    build_index(content_copy, index_dir, encoder=encoder)
    with pytest.raises(IndexMismatch, match="newsroom-bot build"):
        Library.load(index_dir, EngineOptions(model="some-other-model"))
    faiss_file = resolve_build(index_dir) / "sentences.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    with pytest.raises(IndexCorrupt, match="newsroom-bot build"):
        Library.load(index_dir, encoder=encoder)


KILLED_BUILD = """
import os, sys
from pathlib import Path
import index.store as store
from index import EngineOptions, build_index

def die(*args, **kwargs):
    os.kill(os.getpid(), 9)  # kill -9, in the middle of writing a build

if sys.argv[3] == "fsync":
    store._fsync = die  # the staging folder is written, not yet renamed: builds/.<id>.partial stays
else:
    store.os.replace = die  # the build is in place and .current.<id> made, not yet renamed over `current`
build_index(Path(sys.argv[1]), Path(sys.argv[2]), EngineOptions(quantization="fp32", cross_encoder="none"), force=True)
"""


def _killed_build(content: Path, index_dir: Path, where: str) -> list[Path]:
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_BUILD, str(content), str(index_dir), where],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    return leftovers(index_dir)


def test_a_build_removes_what_builds_killed_part_way_left(
    tmp_path: Path, content_copy: Path, encoder: Encoder, caplog: pytest.LogCaptureFixture
) -> None:
    index_dir = tmp_path / "index"
    build_index(content_copy, index_dir, encoder=encoder)
    served = resolve_build(index_dir)
    (partial,) = _killed_build(content_copy, index_dir, "fsync")
    assert partial.parent == index_dir / "builds" and partial.name.endswith(".partial") and partial.is_dir()
    (link,) = _killed_build(content_copy, index_dir, "replace")  # this build removed the first one's folder
    assert link.parent == index_dir and link.name.startswith(".current.") and link.is_symlink()
    assert not partial.exists() and resolve_build(index_dir) == served  # a killed build never changes what's served
    export = next(p for p in (index_dir / "models").iterdir() if not p.name.startswith("."))
    staging = export.with_name(f".{export.name}.12345.partial")  # an export killed part-way (made here: it needs torch)
    staging.mkdir()
    (staging / "model.onnx").write_bytes(bytes(1024))
    (export / ".encoder.json.12345").write_text("{", encoding="utf-8")
    assert len(leftovers(index_dir)) == 3

    with caplog.at_level("WARNING", logger="index.leftovers"):
        _add_story(content_copy)
        assert build_index(content_copy, index_dir, encoder=encoder).changed
    assert leftovers(index_dir) == [] and not link.is_symlink() and not staging.exists()
    assert "removed 3 leftover(s)" in caplog.text
    assert Library.load(index_dir, encoder=encoder).ask("What collapsed on Tuesday?").quotes[0].story == "second"
