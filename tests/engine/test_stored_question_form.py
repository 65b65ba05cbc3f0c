"""The question form (index.canonical) is made by the build and stored beside the index, so serving doesn't read
every word of the library on its first question; a build without one, or with one of another version, still
reads questions the same way, the form made from its stories."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from index import Library
from index.canonical import FORM_VERSION, QuestionForm
from index.embedder import Encoder
from index.store import QUESTION_FORM, read_manifest, resolve_build, stored_form

QUESTIONS = ["how many r trapped??", "HOW MANY WHITE HELMETS ARE TRAPED", "hey bot, who are the white helmets pls"]


def _made(library: Library) -> QuestionForm:
    return QuestionForm.of(p.text for s in library.data.stories for p in s.paragraphs)


def test_a_build_stores_the_form_it_would_make(built_index: Path, library: Library) -> None:
    build = resolve_build(built_index)
    assert QUESTION_FORM in read_manifest(build).files  # checksummed with the rest of the build
    stored, made = library.data.question_form, _made(library)
    assert stored is not None and stored.library_words and stored.capitalised
    assert list(stored.library_words.items()) == list(made.library_words.items())
    assert stored.capitalised == made.capitalised


def test_serving_reads_questions_without_making_the_form(
    built_index: Path, encoder: Encoder, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = [QuestionForm.normal(_made(library), q) for q in QUESTIONS]

    def never(*_: object) -> QuestionForm:
        raise AssertionError("the form was made again at serving")

    monkeypatch.setattr(QuestionForm, "of", classmethod(never))
    served = Library.load(built_index, encoder=encoder)
    assert [served.question_form.normal(q) for q in QUESTIONS] == expected


def test_without_a_stored_form_it_is_made_from_the_stories(library: Library, encoder: Encoder, tmp_path: Path) -> None:
    older = Library(dataclasses.replace(library.data, question_form=None), encoder)
    assert [older.reading_of(q) for q in QUESTIONS] == [library.reading_of(q) for q in QUESTIONS]
    assert stored_form(tmp_path) is None  # a build from before forms were stored
    written = json.loads(_made(library).to_json())
    (tmp_path / QUESTION_FORM).write_text(json.dumps({**written, "version": FORM_VERSION + 1}), encoding="utf-8")
    assert stored_form(tmp_path) is None  # another version of QuestionForm.of wrote it
    (tmp_path / QUESTION_FORM).write_text(json.dumps(written), encoding="utf-8")
    assert stored_form(tmp_path) == _made(library)
