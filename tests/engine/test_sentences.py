"""Sentence splitting: exactly pysbd's starts, with its patterns compiled once and offsets found without a pattern
per sentence; a build hands the previous build's sentences of unchanged paragraphs to the parser."""

from __future__ import annotations

import shutil
from pathlib import Path

import pysbd
from hypothesis import given
from hypothesis import strategies as st

from index import build_index
from index.models import Sentence
from index.previous import read_previous
from index.sentences import _pysbd_starts
from index.stories import load_stories, parse_story

from ..conftest import CONTENT
from ..support.strategies import fuzz

TRICKY = [
    "The U.S. said 115,000 lives were saved. Mr. Hunt agreed at 3 p.m. on Monday.",
    'Dr. Lee said "We are ready. We have boats." Officials agreed.',
    "It rained. It rained. It rained.",  # the same sentence three times: each found after the last
    "Wait... what?! No.   Yes.\n\nMaybe.",  # runs of marks and of white space
    "“Quoted.” “Again.” (Aside.) [Note.] Done",
    "1. First item 2. Second item 3. Third item",
    "Prices rose 3.5% to $1.2 billion, i.e. a record. See p. 4, fig. 2.",
    "a.m. p.m. e.g. etc. vs. St. Jr. Ph.D. U.K. No. 5",
    " . . . ",
]


def _pysbd_own_starts(text: str) -> list[int]:
    """What pysbd itself gives (its char spans, its per-sentence regular expressions)."""
    return [span.start for span in pysbd.Segmenter(language="en", clean=False, char_span=True).segment(text)]


def test_the_starts_are_pysbds_own_on_tricky_text() -> None:
    for text in TRICKY:
        assert _pysbd_starts(text) == _pysbd_own_starts(text), text


@fuzz(200)
@given(
    st.lists(
        st.sampled_from(["Mr.", "U.S.", "3.5", "said.", "“Yes.”", "No!", "why?", "...", "It", "rained", "\n", "  "]),
        min_size=1,
        max_size=30,
    )
)
def test_the_starts_are_pysbds_own_on_generated_text(words: list[str]) -> None:
    text = " ".join(words).strip() or "x"
    assert _pysbd_starts(text) == _pysbd_own_starts(text)


def test_known_sentences_of_a_paragraph_are_taken_as_they_are(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    story = load_stories(content).stories[0]
    first = story.paragraphs[0]
    whole = (Sentence(0, len(first.text)),)  # not what the splitter would say: seen only if it is reused
    again = load_stories(content, known={first.text: whole}).stories[0]
    assert again.paragraphs[0].sentences == whole
    assert again.paragraphs[1:] == story.paragraphs[1:]


def test_a_build_hands_over_the_sentences_it_split(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    assert build_index(CONTENT, index_dir).ok
    previous = read_previous(index_dir)
    assert previous is not None
    story = parse_story(next(p for p in CONTENT.iterdir() if p.suffix == ".txt"))
    assert previous.sentences() == {p.text: p.sentences for p in story.paragraphs}
