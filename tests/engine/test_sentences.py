"""Sentence splitting: exactly pysbd's starts, with its patterns compiled once and offsets found without a pattern
per sentence; a build hands the previous build's sentences of unchanged paragraphs to the parser."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pysbd
from hypothesis import given
from hypothesis import strategies as st

from index import build_index
from index.models import Sentence
from index.previous import read_previous
from index.sentences import SEGMENT_CHARS, _pysbd_starts, split_sentences
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


# pysbd as it ships, untouched: a separate interpreter that never builds index.sentences' segmenter (so pysbd's
# modules keep the real `re`) gives the spans the splitter gave before its patterns were compiled once: the same
# windows and tiling, each window's starts from pysbd's own char spans (its per-sentence regular expressions).
_PRISTINE = """
import json, re, sys
import pysbd
from index import sentences
segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
sentences._pysbd_starts = lambda text: [span.start for span in segmenter.segment(text)]
texts = json.load(sys.stdin)
spans = [[list(s) for s in sentences.split_sentences(text)] for text in texts]
patched = [n for n, m in sys.modules.items() if n.split(".")[0] == "pysbd" and getattr(m, "re", re) is not re]
assert not patched and sentences._segmenter.cache_info().currsize == 0, patched
json.dump(spans, sys.stdout)
"""


def _fixture_paragraphs() -> list[str]:
    """Every paragraph of the shipped stories and of the test data, the tricky cases, and one paragraph longer than
    a window (SEGMENT_CHARS) so the windows are compared too."""
    shipped = [p.text for s in load_stories(CONTENT).stories for p in s.paragraphs]
    data = Path(__file__).parent.parent / "data" / "summary-articles.jsonl"
    articles = [json.loads(line)["article_sentences"] for line in data.read_text(encoding="utf-8").splitlines()]
    summary_texts = [str(s) for sentences in articles for s in sentences] + [" ".join(map(str, s)) for s in articles]
    long = " ".join(shipped) + "\n" + "\n".join(shipped)
    assert len(long) > SEGMENT_CHARS
    return [*shipped, *summary_texts, *TRICKY, long]


def test_the_sentences_of_the_shipped_content_and_the_test_data_are_pysbds_own() -> None:
    texts = _fixture_paragraphs()
    pristine = subprocess.run(
        [sys.executable, "-c", _PRISTINE],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    expected = json.loads(pristine.stdout)
    for text, spans in zip(texts, expected, strict=True):
        assert [list(s) for s in split_sentences(text)] == spans, text[:80]
    assert sum(len(s) for s in expected) > len(texts)  # real splitting happened, not one sentence a paragraph
