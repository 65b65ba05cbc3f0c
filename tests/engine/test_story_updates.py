"""Story updates: logged paragraph refs stay meaningful after an edit, and answers say "updated <date>"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from index import Encoder, Library, RefState, build_index, paragraph_hash, parse_story
from index.store import read_build

FLOOD = [
    "The river rose two metres overnight and flooded the old town.",
    "About 400 residents were moved to the sports hall on Mill Road.",
    "The mayor said the dyke repairs would cost 3 million euros.",
]


def _write(content: Path, paragraphs: list[str], *, extra: str = "") -> None:
    head = f"---\ntitle: River floods the old town\nslug: flood\npublished: 2024-03-05\nsources: [AP]\n{extra}---\n\n"
    (content / "flood.md").write_text(head + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


def test_refs_resolve_unchanged_moved_and_changed(tmp_path: Path, encoder: Encoder) -> None:
    content, index_dir = tmp_path / "content", tmp_path / "index"
    content.mkdir()
    _write(content, FLOOD)
    build_index(content, index_dir, encoder=encoder)
    before = Library.load(index_dir, encoder=encoder)
    answer = before.ask("How many residents were moved to the sports hall?", "flood")
    assert answer.shows_quotes
    quoted = answer.quotes[0]
    assert (quoted.paragraph, quoted.paragraph_hash) == (2, paragraph_hash(FLOOD[1]))
    logged = [(p.number, p.content_hash) for p in before.story("flood").paragraphs]

    # The editor inserts a new first paragraph and corrects the mayor's figure.
    edited = ["Update: the water is falling.", FLOOD[0], FLOOD[1], FLOOD[2].replace("3 million", "4 million")]
    _write(content, edited)
    build_index(content, index_dir, encoder=encoder)
    after = Library.load(index_dir, encoder=encoder)
    states = [after.resolve_ref("flood", number, digest) for number, digest in logged]
    assert [(s.state, s.now) for s in states] == [
        (RefState.MOVED, 2),
        (RefState.MOVED, 3),
        (RefState.CHANGED, None),
    ]
    assert states[0].describe() == "paragraph 1, now paragraph 2 (text unchanged)"
    assert states[2].describe() == "paragraph 3 (text changed since)"
    assert after.resolve_ref("flood", 2, paragraph_hash(FLOOD[0])).describe() == "paragraph 2 (unchanged)"
    assert after.resolve_ref("gone", 1, logged[0][1]).state is RefState.STORY_GONE


def test_build_records_when_the_text_changed(tmp_path: Path, encoder: Encoder) -> None:
    content, index_dir = tmp_path / "content", tmp_path / "index"
    content.mkdir()
    _write(content, FLOOD)
    build_index(content, index_dir, encoder=encoder)
    first = Library.load(index_dir, encoder=encoder)
    assert first.stories()[0].updated is None  # publishing is not an update
    assert first.ask("How many residents were moved?", "flood").quotes[0].updated is None

    _write(content, FLOOD, extra="byline: A. Reporter\n")  # front matter only: readers see the same text
    assert build_index(content, index_dir, encoder=encoder).changed
    assert read_build(index_dir).manifest.stories[0].changed_at is None

    _write(content, [*FLOOD[:2], "The mayor said repairs would cost 4 million euros."], extra="byline: A. Reporter\n")
    build_index(content, index_dir, encoder=encoder)
    changed_at = read_build(index_dir).manifest.stories[0].changed_at
    assert changed_at is not None and changed_at.date() == dt.datetime.now(dt.UTC).date()
    library = Library.load(index_dir, encoder=encoder)
    assert library.stories()[0].updated == changed_at.date()
    assert library.ask("How many residents were moved to the sports hall?", "flood").quotes[0].updated == (
        changed_at.date()
    )

    _write(content, [*FLOOD, "Schools reopen on Monday."], extra="byline: A. Reporter\n")  # a later edit
    build_index(content, index_dir, encoder=encoder)
    assert read_build(index_dir).manifest.stories[0].changed_at >= changed_at


def test_front_matter_updated_date_wins_and_only_after_publication(tmp_path: Path, encoder: Encoder) -> None:
    content, index_dir = tmp_path / "content", tmp_path / "index"
    content.mkdir()
    _write(content, FLOOD, extra="updated: 2024-03-07\n")
    assert parse_story(content / "flood.md").updated == dt.date(2024, 3, 7)
    build_index(content, index_dir, encoder=encoder)
    library = Library.load(index_dir, encoder=encoder)
    assert library.ask("How many residents were moved?", "flood").quotes[0].updated == dt.date(2024, 3, 7)
    assert library.summary("flood").quotes[0].updated == dt.date(2024, 3, 7)

    _write(content, FLOOD, extra="updated: 2024-03-05\n")  # same day as publication: not worth a note
    build_index(content, index_dir, encoder=encoder)
    library = Library.load(index_dir, encoder=encoder)
    assert library.update_note("flood") is None


def test_bad_updated_date_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.md"
    path.write_text("---\ntitle: T\nupdated: soon\n---\n\nText.\n", encoding="utf-8")
    try:
        parse_story(path)
    except ValueError as exc:
        assert "updated date 'soon'" in str(exc) and ":3:" in str(exc)
    else:
        raise AssertionError("a bad updated date must be refused")
