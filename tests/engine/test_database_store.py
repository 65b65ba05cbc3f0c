"""The index in PostgreSQL with pgvector (DATABASE_URL), on a real server: the same candidates and answers as the
FAISS files, incremental builds that become visible at once, the build lock, a killed build, a new build picked up."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import psycopg
import pytest

from index import BuildLocked, DatabaseIndex, Encoder, EngineOptions, Library, LiveLibrary, build_index, pgbuild
from index.cleaning import clean_question

from ..conftest import CONTENT

QUESTIONS = [
    "How many White Helmets are still trapped in Syria?",
    "Who led the evacuation?",
    "How many lives have the White Helmets saved?",
    "Where will the evacuated stay?",
    "Who painted the Mona Lisa?",
]
EXTRA = """---
title: River floods the old town
slug: river-flood
---

The river rose 3.5 m overnight, officials said. Two bridges were closed.

Volunteers filled sandbags until dawn in the market square.
"""


@pytest.fixture(scope="module")
def database_library(postgres_server, encoder: Encoder, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The shipped stories built into a fresh database, and a Library serving it from a folder of its own."""
    url = postgres_server.new_database()
    report = build_index(CONTENT, tmp_path_factory.mktemp("builder"), EngineOptions(database=url), encoder=encoder)
    assert report.ok and report.changed
    database = DatabaseIndex(url, tmp_path_factory.mktemp("server"))
    return url, Library.load(database.index_dir, encoder=encoder, database=database)


def test_the_same_candidates_and_answers_as_the_faiss_files(database_library, library: Library) -> None:  # type: ignore[no-untyped-def]
    _, served = database_library
    for question in QUESTIONS:
        text = clean_question(question)
        ours, theirs = served.candidates(text), library.candidates(text)
        assert ours is not None and theirs is not None
        assert np.array_equal(ours.paragraph_rows, theirs.paragraph_rows)
        assert np.array_equal(ours.sentence_rows, theirs.sentence_rows)
        np.testing.assert_allclose(ours.paragraph_dense, theirs.paragraph_dense, atol=1e-5)
        np.testing.assert_allclose(ours.sentence_dense, theirs.sentence_dense, atol=1e-5)
        np.testing.assert_array_equal(ours.sentence_bm25, theirs.sentence_bm25)
    ours_answers, their_answers = served.ask_many(QUESTIONS), library.ask_many(QUESTIONS)
    # The database returns its inner products as float4, FAISS computes them in float32 its own way: the last
    # bits of a confidence may differ (1e-7 seen), nothing a reader sees may.
    for ours_answer, their_answer in zip(ours_answers, their_answers, strict=True):
        assert ours_answer.confidence == pytest.approx(their_answer.confidence, abs=1e-5)
        assert ours_answer.model_dump(exclude={"confidence"}) == their_answer.model_dump(exclude={"confidence"})
    story = library.stories()[0].slug
    assert served.summary(story) == library.summary(story)
    np.testing.assert_allclose(served.paragraph_vectors(story), library.paragraph_vectors(story), atol=1e-6)


def test_only_changed_stories_are_written_and_a_build_shows_at_once(  # type: ignore[no-untyped-def]
    postgres_server, encoder: Encoder, content_copy: Path, tmp_path: Path
) -> None:
    url = postgres_server.new_database()
    builder = tmp_path / "builder"
    assert build_index(content_copy, builder, EngineOptions(database=url), encoder=encoder).embedded
    database = DatabaseIndex(url, tmp_path / "server")
    first = Library.load(database.index_dir, encoder=encoder, database=database)
    first_answer = first.ask(QUESTIONS[0])

    (content_copy / "river-flood.md").write_text(EXTRA, encoding="utf-8")
    report = build_index(content_copy, builder, EngineOptions(database=url), encoder=encoder)
    assert report.embedded == ["river-flood"] and len(report.reused) == 1
    assert not build_index(content_copy, builder, EngineOptions(database=url), encoder=encoder).changed  # nothing to do
    # the process still serving the first build answers from it: the new story's rows are not its rows
    assert first.ask("How far did the river rise?").status.value != "answered"
    assert first.ask(QUESTIONS[0]).model_dump() == first_answer.model_dump()
    second = Library.load(database.index_dir, encoder=encoder, database=database)
    assert second.ask("How far did the river rise?").quotes[0].story == "river-flood"

    (content_copy / "river-flood.md").unlink()
    assert build_index(content_copy, builder, EngineOptions(database=url), encoder=encoder).changed
    with psycopg.connect(url) as conn:
        alive = conn.execute("SELECT slug FROM index_stories WHERE died IS NULL").fetchall()
        kept = conn.execute("SELECT COUNT(*) FROM index_builds").fetchone()
    assert [r[0] for r in alive] == [first.stories()[0].slug]
    assert kept == (2,)  # the current build and the one before it
    third = Library.load(database.index_dir, encoder=encoder, database=database)
    assert third.ask(QUESTIONS[0]).model_dump() == first_answer.model_dump()


def test_two_builders_exclude_each_other(postgres_server, encoder: Encoder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = postgres_server.new_database()
    with pgbuild.build_lock(url), pytest.raises(BuildLocked, match="another build holds the lock"):
        build_index(CONTENT, tmp_path, EngineOptions(database=url), encoder=encoder)
    assert build_index(
        CONTENT, tmp_path, EngineOptions(database=url), encoder=encoder
    ).ok  # the lock went with its connection


def test_a_build_killed_half_way_leaves_the_served_build(  # type: ignore[no-untyped-def]
    postgres_server, encoder: Encoder, content_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres_server.new_database()
    build_index(content_copy, tmp_path / "builder", EngineOptions(database=url), encoder=encoder)
    database = DatabaseIndex(url, tmp_path / "server")
    before = database.current()
    (content_copy / "river-flood.md").write_text(EXTRA, encoding="utf-8")

    def killed(*args: object) -> None:
        raise KeyboardInterrupt  # the builder dies after writing rows, before the build is current

    monkeypatch.setattr(pgbuild, "_prune", killed)
    with pytest.raises(KeyboardInterrupt):
        build_index(content_copy, tmp_path / "builder", EngineOptions(database=url), encoder=encoder)
    assert database.current() == before
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM index_stories WHERE slug = 'river-flood'").fetchone() == (0,)
    library = Library.load(database.index_dir, encoder=encoder, database=database)
    assert [s.slug for s in library.stories()] == ["white-helmets-trapped-in-syria"]


def test_a_serving_process_picks_up_a_new_build_without_a_restart(  # type: ignore[no-untyped-def]
    postgres_server, encoder: Encoder, content_copy: Path, tmp_path: Path
) -> None:
    url = postgres_server.new_database()
    database = DatabaseIndex(url, tmp_path / "server")
    live = LiveLibrary(tmp_path / "server", encoder=encoder, database=database, check_interval=0)
    assert not live.ready and "newsroom-bot build" in str(live.problem)
    build_index(content_copy, tmp_path / "builder", EngineOptions(database=url), encoder=encoder)
    assert live.reload() and len(live.stories()) == 1
    (content_copy / "river-flood.md").write_text(EXTRA, encoding="utf-8")
    build_index(content_copy, tmp_path / "builder", EngineOptions(database=url), encoder=encoder)
    assert live.ask("How far did the river rise?").quotes[0].story == "river-flood"  # picked up on the way
    assert not live.reload()  # nothing newer
    shutil.rmtree(tmp_path / "server" / "postgres")  # this machine's copies are a cache: fetched again
    assert Library.load(tmp_path / "server", encoder=encoder, database=database).stories()
