"""A build swapped in under load, from PostgreSQL (DATABASE_URL): a serving process answers a steady stream of
questions from several threads while `build_index` writes a new build into the same database, and every reply must
be the answer of one build, the old one or the new one, never a mix and never an error.

The new build changes what readers see three ways: a number in the first paragraph (that answer's quote changes), a
paragraph inserted after the second one (quotes from later paragraphs keep their text but change their number) and a
new story (a question the old build could not answer). A reply is checked twice:

- against the text of each build as a whole: every quote must be found, character for character, in the paragraph
  its number names, with that paragraph's hash, in the same build for all the reply's quotes (a quote of the old text
  under the new numbering, or from the new story while the old stories rank, fits neither build);
- against the answer each build gives on its own, asked before the swap (the old build) and after it (the new one),
  with the same question vectors: the reply must be one of the two, field for field.

Each asker must also never go back: once it got the new build's answer it gets no old one. The run is made twice:
with exact search (the engine's choice at this size) and through the HNSW index, which the new build's rows enter
while the old build is searched through it.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from index import DatabaseIndex, Encoder, EngineOptions, Library, LiveLibrary, build_index, load_encoder, pgvectors
from index.embedder import CachedEncoder
from index.models import Answer

SEED = "white-helmets-trapped-in-syria.txt"
QUESTIONS = [
    "How many White Helmets are still trapped in Syria?",  # paragraph 1: its number changes in the new build
    "Who led the evacuation?",
    "How many lives have the White Helmets saved?",  # paragraph 3, then 4
    "Where will the evacuated stay?",  # paragraph 4, then 5
    "How many members remain within the country?",
    "How many Syrians have been displaced?",
    "When did the insurgency against Assad begin?",
    "When will the second convoy leave?",  # only the inserted paragraph answers it
    "How far did the river rise?",  # only the new story answers it
    "Who closed the bridges?",
    "Who painted the Mona Lisa?",  # neither build
    "What did the volunteers fill?",
]
INSERTED = (
    "A second convoy is planned for next week, a Jordanian official said. It will take the remaining volunteers "
    "and their families across the border at night."
)
RIVER = """---
title: River floods the old town
slug: river-flood
---

The river rose 3.5 m overnight, officials said. Two bridges were closed by the police.

Volunteers filled sandbags until dawn in the market square.
"""
ASKERS = 6  # threads: half ask one question at a time (`ask`), half four at once (`ask_many`, as the bot batches)
BEFORE, AFTER = 90, 150  # replies asked before the build starts and after it is current, at least


@dataclass(frozen=True)
class Reply:
    asker: int
    question: str
    answer: Answer | None
    error: str | None = None


def _new_build(content: Path) -> None:
    """The edited story (a number changed, a paragraph inserted after the second) and a new story."""
    seed = content / SEED
    paragraphs = seed.read_text(encoding="utf-8").split("\n\n")
    assert paragraphs[0].count("still 300 White Helmets") == 1
    paragraphs[0] = paragraphs[0].replace("still 300 White Helmets", "still 250 White Helmets")
    paragraphs.insert(2, INSERTED)
    seed.write_text("\n\n".join(paragraphs), encoding="utf-8")
    (content / "river-flood.md").write_text(RIVER, encoding="utf-8")


def _fits(answer: Answer, library: Library) -> bool:
    """Every quote is in `library`'s text: in the paragraph its number names, with that paragraph's hash."""
    for quote in answer.quotes:
        try:
            paragraphs = library.story(quote.story).paragraphs
        except Exception:
            return False
        if not 1 <= quote.paragraph <= len(paragraphs):
            return False
        paragraph = paragraphs[quote.paragraph - 1]
        if quote.text not in paragraph.text or quote.paragraph_hash != paragraph.content_hash:
            return False
    return True


def _first(answer: Answer) -> tuple[str, str, int] | None:
    return (answer.quotes[0].text, answer.quotes[0].story, answer.quotes[0].paragraph) if answer.quotes else None


def _ask(live: LiveLibrary, asker: int, replies: list[Reply], stop: threading.Event) -> None:
    """Ask round the questions until told to stop, from this asker's own place in the list."""
    turn = asker
    while not stop.is_set():
        group = [QUESTIONS[(turn + i) % len(QUESTIONS)] for i in range(1 if asker % 2 else 4)]
        turn += len(group)
        try:
            answers = [live.ask(group[0])] if len(group) == 1 else live.library.ask_many(group)
        except Exception as exc:  # an error is a wrong reply: recorded, never raised in the thread
            replies.extend(Reply(asker, q, None, f"{type(exc).__name__}: {exc}") for q in group)
            continue
        replies.extend(Reply(asker, q, a) for q, a in zip(group, answers))


def _wait_for(replies: list[Reply], count: int, stop: threading.Event) -> None:
    while len(replies) < count and not stop.wait(0.02):
        pass


@pytest.fixture(scope="module")
def builder_encoder() -> Encoder:
    """The builder's own model: a build runs beside the askers, as on another machine, not through their encoder."""
    return load_encoder()


def _force_hnsw(monkeypatch: pytest.MonkeyPatch) -> None:
    """Search through the HNSW index at this size: the engine's rule (exact up to 20,000 rows) lowered to 0, and the
    planner told not to prefer a sequential scan of a table this small."""
    monkeypatch.setattr(pgvectors, "FLAT_MAX_ROWS", 0)
    connect = pgvectors.Connections._connect

    def without_seqscan(self: pgvectors.Connections) -> object:
        conn = connect(self)
        conn.execute("SET enable_seqscan = off")
        return conn

    monkeypatch.setattr(pgvectors.Connections, "_connect", without_seqscan)


def _plan(database: DatabaseIndex) -> str:
    """How this process's connections find a question's nearest sentences (the form of the HNSW search)."""
    query = (
        "EXPLAIN SELECT id FROM index_sentences ORDER BY embedding <#> (SELECT embedding FROM index_sentences LIMIT 1)"
    )
    with database.connections.get() as conn:
        return "\n".join(row[0] for row in conn.execute(query + " LIMIT 40"))


@pytest.mark.parametrize("search", ["exact", "hnsw"])
def test_a_build_swapped_in_under_load_gives_no_mixed_or_wrong_reply(  # type: ignore[no-untyped-def]
    postgres_server,
    encoder: Encoder,
    builder_encoder: Encoder,
    content_copy: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    search: str,
) -> None:
    if search == "hnsw":  # as above 20,000 rows: the HNSW index, which the build's rows go into while it serves
        _force_hnsw(monkeypatch)
    url = postgres_server.new_database()
    options = EngineOptions(database=url)
    assert build_index(content_copy, tmp_path / "builder", options, encoder=builder_encoder).ok
    database = DatabaseIndex(url, tmp_path / "server")
    vectors = CachedEncoder(encoder)  # one cache of question vectors: every library encodes a reading once
    old = Library.load(database.index_dir, encoder=vectors, database=database)
    expected_old = {q: old.ask(q) for q in QUESTIONS}
    assert old.data.sentence_vectors.exact is (search == "exact")  # type: ignore[union-attr]
    if search == "hnsw":
        assert "Index Scan using index_sentences_hnsw" in _plan(database)
    live = LiveLibrary(database.index_dir, encoder=vectors, database=database, check_interval=0)
    loaded = live.reloads

    replies: list[Reply] = []
    stop = threading.Event()
    askers = [threading.Thread(target=_ask, args=(live, i, replies, stop), daemon=True) for i in range(ASKERS)]
    for thread in askers:
        thread.start()
    try:
        _wait_for(replies, BEFORE, stop)
        _new_build(content_copy)
        report = build_index(content_copy, tmp_path / "builder", options, encoder=builder_encoder)
        at_swap = len(replies)
        _wait_for(replies, at_swap + AFTER, stop)
    finally:
        stop.set()
        for thread in askers:
            thread.join()
    assert report.ok and sorted(report.embedded) == ["river-flood", "white-helmets-trapped-in-syria"]
    new = Library.load(database.index_dir, encoder=vectors, database=database)
    assert new.data.path != old.data.path and live.build == new.data.path
    expected_new = {q: new.ask(q) for q in QUESTIONS}
    first = {q: (_first(expected_old[q]), _first(expected_new[q])) for q in QUESTIONS}
    assert first[QUESTIONS[0]][0] != first[QUESTIONS[0]][1]  # the new number
    assert "river-flood" in str(first[QUESTIONS[8]][1]) and "river-flood" not in str(first[QUESTIONS[8]][0])
    kept = [q for q, (before, after) in first.items() if before is not None and before == after]
    assert kept, first  # some answers stay: the same first quote (text and paragraph) from both builds

    served: Counter[str] = Counter()
    wrong: list[str] = []
    newest: dict[int, int] = {}  # per asker, the place of its last reply that only the new build gives
    for place, reply in enumerate(replies):
        if reply.answer is None:
            wrong.append(f"{reply.question!r}: {reply.error}")
            continue
        fits = [name for name, library in (("old", old), ("new", new)) if _fits(reply.answer, library)]
        same = [
            name
            for name, expected in (("old", expected_old), ("new", expected_new))
            if reply.answer.model_dump() == expected[reply.question].model_dump()
        ]
        if not fits:
            wrong.append(f"{reply.question!r}: a mixed build, quotes in neither build's text: {reply.answer.quotes}")
        elif not same:
            wrong.append(f"{reply.question!r}: the answer of neither build: {reply.answer.model_dump()}")
        elif same == ["old"] and newest.get(reply.asker, -1) > -1:
            wrong.append(f"{reply.question!r}: the old build's answer after asker {reply.asker} got the new one")
        else:
            served["both builds alike" if len(same) == 2 else f"{same[0]} build"] += 1
            if same == ["new"]:
                newest[reply.asker] = place
    print(
        f"\n{search}: {len(replies)} replies from {ASKERS} askers ({at_swap} before the new build was committed): "
        f"{served['old build']} the old build's answer, {served['new build']} the new build's, "
        f"{served['both builds alike']} alike in both; {len(wrong)} wrong; "
        f"{len(QUESTIONS) - len(kept)} of {len(QUESTIONS)} questions have another first quote in the new build"
    )
    assert not wrong, f"{len(wrong)} of {len(replies)} replies wrong, e.g.:\n" + "\n".join(wrong[:5])
    assert served["old build"] and served["new build"]  # swapped under load: both builds answered the stream
    assert live.reloads == loaded + 1  # the new build, once
