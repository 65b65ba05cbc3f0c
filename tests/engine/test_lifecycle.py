"""The index's life while a server holds it: missing, rebuilt under load, corrupted, mismatched, locked."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from index import (
    AnswerStatus,
    BuildLocked,
    Encoder,
    EngineOptions,
    IndexCorrupt,
    IndexMismatch,
    IndexMissing,
    Library,
    build_index,
)
from index.live import LiveLibrary
from index.store import resolve_build

from ..conftest import ROOT, SEED_SLUG

NEW_STORY = "---\ntitle: Bridge\nslug: bridge\nsources: [AP]\n---\n\nThe old rail bridge collapsed on Tuesday night.\n"


def _add_bridge(content: Path) -> None:
    (content / "bridge.md").write_text(NEW_STORY, encoding="utf-8")


def _slugs(live: LiveLibrary) -> set[str]:
    return {s.slug for s in live.stories()}


@pytest.fixture
def index_copy(tmp_path: Path, built_index: Path) -> Path:
    """A writable copy of the session's index of the shipped content (later builds reuse its vectors)."""
    target = tmp_path / "index"
    shutil.copytree(built_index, target, symlinks=True)
    return target


@pytest.fixture
def served(index_copy: Path, encoder: Encoder) -> tuple[LiveLibrary, Path]:
    """A LiveLibrary serving that index; it checks for new builds only on reload()."""
    return LiveLibrary(index_copy, encoder=encoder, check_interval=3600), index_copy


def test_missing_index_says_how_to_build_then_the_first_build_is_picked_up(
    tmp_path: Path, content_copy: Path, encoder: Encoder
) -> None:
    index_dir = tmp_path / "index"
    live = LiveLibrary(index_dir, encoder=encoder, check_interval=0)
    assert not live.ready
    with pytest.raises(IndexMissing) as caught:
        live.ask("How many White Helmets are trapped?")
    assert f"newsroom-bot build --index {index_dir}" in str(caught.value)
    build_index(content_copy, index_dir, encoder=encoder)
    answer = live.ask("How many White Helmets are trapped?")  # check_interval=0: the next question looks
    assert live.ready and answer.shows_quotes and live.problem is None


def test_watch_is_rate_limited_and_reload_is_immediate(
    served: tuple[LiveLibrary, Path], content_copy: Path, encoder: Encoder
) -> None:
    live, index_dir = served
    _add_bridge(content_copy)
    build_index(content_copy, index_dir, encoder=encoder)
    assert _slugs(live) == {SEED_SLUG}  # not checked again for an hour
    assert live.reload() and _slugs(live) == {SEED_SLUG, "bridge"}
    assert not live.reload()  # same build: nothing to do


def _corrupt_faiss(build: Path) -> None:
    path = build / "sentences.faiss"
    path.write_bytes(path.read_bytes()[:64])


def _garble_manifest(build: Path) -> None:
    path = build / "manifest.json"
    path.write_text(path.read_text(encoding="utf-8")[:40], encoding="utf-8")


def _edit_manifest(build: Path, **changes: object) -> None:
    path = build / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    path.write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        (_corrupt_faiss, IndexCorrupt),
        (_garble_manifest, IndexCorrupt),
        (lambda b: _edit_manifest(b, model="some-other-model"), IndexMismatch),
        (lambda b: _edit_manifest(b, dimension=768), IndexMismatch),
        (lambda b: (b / "bm25-paragraphs.npz").unlink(), IndexCorrupt),
    ],
    ids=["truncated-faiss", "truncated-manifest", "other-model", "other-dimension", "missing-file"],
)
def test_a_bad_new_build_is_refused_and_the_last_good_one_keeps_serving(
    served: tuple[LiveLibrary, Path], content_copy: Path, encoder: Encoder, damage, error
) -> None:
    live = served[0]
    live.options = EngineOptions(
        model=encoder.name
    )  # as the bot does: the settings' model is what the index must be built with
    index_dir = served[1]
    _add_bridge(content_copy)
    build_index(content_copy, index_dir, encoder=encoder)
    damage(resolve_build(index_dir))
    assert not live.reload()
    assert isinstance(live.problem, error)
    assert "newsroom-bot build" in str(live.problem) and "last problem" in live.status()
    assert _slugs(live) == {SEED_SLUG}
    assert live.ask("How many White Helmets are still trapped in Syria?").shows_quotes
    assert not live.reload()  # a refused build is not retried (nor logged) on every check


def _truncate(path: Path) -> None:
    """A third of the file, written as a new file: exports may be hard links to other indexes' files."""
    data = path.read_bytes()
    path.unlink()
    path.write_bytes(data[: len(data) // 3])


def _export_of(build: Path) -> Path:
    manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    return (build / manifest["encoder_dir"]).resolve()


@pytest.mark.parametrize("name", ["model.onnx", "tokenizer.json"])
def test_a_build_whose_model_files_will_not_load_is_refused_and_asking_goes_on(
    index_copy: Path, content_copy: Path, encoder: Encoder, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    """A damaged ONNX model (onnxruntime's InvalidProtobuf) or tokenizer (a tokenizers Exception) in a new build:
    every question still gets the last good build's answer, the refusal is logged once, and watching goes on."""
    live = LiveLibrary(index_copy, check_interval=0)  # questions encoded by the build's own ONNX export
    _add_bridge(content_copy)
    build_index(content_copy, index_copy, encoder=encoder)
    _truncate(_export_of(resolve_build(index_copy)) / name)
    with caplog.at_level("ERROR", logger="index.live"):
        for _ in range(3):
            assert live.ask("How many White Helmets are still trapped in Syria?").shows_quotes  # check_interval=0
    assert _slugs(live) == {SEED_SLUG} and "newsroom-bot build" in str(live.problem)
    # only the refusals count: another test's logging set-up can leave INFO records reaching caplog here
    refusals = [r for r in caplog.records if r.name == "index.live" and r.levelno >= logging.ERROR]
    assert len(refusals) == 1 and "still serving" in refusals[0].getMessage()
    (content_copy / "bridge.md").write_text(NEW_STORY + "\nUpdate: crews are at work.\n", encoding="utf-8")
    shutil.rmtree(_export_of(resolve_build(index_copy)))  # the operator's fix: a build re-exports the model
    assert build_index(content_copy, index_copy, encoder=encoder).changed
    assert live.ask("What collapsed on Tuesday?").quotes[0].story == "bridge" and live.problem is None


def test_a_build_refused_for_its_export_is_served_once_build_repairs_the_export(
    index_copy: Path, content_copy: Path, encoder: Encoder
) -> None:
    """`newsroom-bot build` re-exports a damaged model in place (no new build): a server that refused the build
    tries it again, because an export under models/ was re-made."""
    live = LiveLibrary(index_copy, check_interval=3600)
    _add_bridge(content_copy)
    build_index(content_copy, index_copy, encoder=encoder)
    _truncate(_export_of(resolve_build(index_copy)) / "tokenizer.json")
    assert not live.reload() and "tokenizer.json is damaged" in str(live.problem) and not live.reload()
    assert not build_index(content_copy, index_copy, encoder=encoder).changed  # the export is made again
    assert live.reload() and live.problem is None and _slugs(live) == {SEED_SLUG, "bridge"}


def test_whatever_loading_raises_is_a_refused_build(index_copy: Path, content_copy: Path, encoder: Encoder) -> None:
    first = resolve_build(index_copy)

    def loader(build: Path, encoder: Encoder | None, options: EngineOptions | None) -> Library:
        if build != first:
            raise Exception("EOF while parsing a value at line 1 column 9")  # what tokenizers raises, as it is
        return Library.load(build, options, encoder=encoder)

    live = LiveLibrary(index_copy, encoder=encoder, check_interval=0, loader=loader)
    assert live.build == first
    _add_bridge(content_copy)
    build_index(content_copy, index_copy, encoder=encoder)
    assert live.ask("How many White Helmets are still trapped in Syria?").shows_quotes
    assert "EOF while parsing" in str(live.problem) and live.build == first


def test_the_rebuild_the_message_names_is_picked_up(
    served: tuple[LiveLibrary, Path], content_copy: Path, encoder: Encoder
) -> None:
    live, index_dir = served
    _add_bridge(content_copy)
    build_index(content_copy, index_dir, encoder=encoder)
    _corrupt_faiss(resolve_build(index_dir))
    assert not live.reload() and isinstance(live.problem, IndexCorrupt)
    assert build_index(content_copy, index_dir, encoder=encoder).changed  # `newsroom-bot build`
    assert live.reload() and live.problem is None and _slugs(live) == {SEED_SLUG, "bridge"}


def test_the_served_build_damaged_in_place_keeps_serving_from_memory(served: tuple[LiveLibrary, Path]) -> None:
    live, index_dir = served
    _garble_manifest(resolve_build(index_dir))
    assert not live.reload() and isinstance(live.problem, IndexCorrupt)
    assert live.ask("How many lives have the White Helmets saved?").shows_quotes


def test_a_corrupt_index_at_start_is_refused_with_the_fix(index_copy: Path, encoder: Encoder) -> None:
    _corrupt_faiss(resolve_build(index_copy))
    live = LiveLibrary(index_copy, encoder=encoder)
    assert not live.ready
    with pytest.raises(IndexCorrupt, match="newsroom-bot build"):
        live.ask("anything?")


def test_rebuilds_under_a_stream_of_questions_lose_no_answer(
    served: tuple[LiveLibrary, Path], content_copy: Path, encoder: Encoder
) -> None:
    """Four threads ask without pause while three builds land (the oldest builds get pruned meanwhile)."""
    live, index_dir = served
    live.check_interval = 0.0  # every question looks for a new build, the worst case for the swap
    questions = [
        "How many White Helmets are still trapped in Syria?",
        "What collapsed on Tuesday?",
        "Who evacuated the rescue workers?",
        "",
    ]
    statuses: Counter[str] = Counter()
    failures: list[BaseException] = []
    stop = threading.Event()
    lock = threading.Lock()

    def asker(offset: int) -> None:
        for n in range(5000):  # bounded even if the main thread dies
            if stop.is_set():
                return
            try:
                answer = live.ask(questions[(n + offset) % len(questions)])
            except BaseException as exc:
                failures.append(exc)
                return
            with lock:
                statuses[answer.status.value] += 1

    threads = [threading.Thread(target=asker, args=(i,), daemon=True) for i in range(4)]
    for thread in threads:
        thread.start()
    _add_bridge(content_copy)
    for version in range(3):
        (content_copy / "bridge.md").write_text(NEW_STORY + f"\nUpdate {version}: crews are still at work.\n")
        assert build_index(content_copy, index_dir, encoder=encoder).changed
    for _ in range(200):  # let the askers see the last build
        if live.build == resolve_build(index_dir):
            break
        live.ask(questions[1])
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert live.problem is None, live.problem
    assert live.build == resolve_build(index_dir) and live.reloads >= 2
    assert sum(statuses.values()) > 50 and statuses[AnswerStatus.EMPTY_QUESTION.value] > 0
    assert live.ask("What collapsed on Tuesday?").quotes[0].story == "bridge"


def test_a_second_build_is_told_which_process_holds_the_lock(tmp_path: Path, content_copy: Path) -> None:
    index_dir = tmp_path / "index"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from index.build import build_lock\n"
            "with build_lock(Path(sys.argv[1])):\n    print('held', flush=True); sys.stdin.read()",
            str(index_dir),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(BuildLocked) as caught:
            build_index(content_copy, index_dir)  # refused before any model is loaded
        message = str(caught.value)
        assert f'"pid": {holder.pid}' in message and socket.gethostname() in message
    finally:
        holder.communicate(input="", timeout=30)
    assert holder.returncode == 0
