"""Hostile story files never crash parsing or `build`: each bad file is one clear error, good stories index.

The parser is fuzzed broadly (it is fast); `build_index` with the real model runs on a few generated folders.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from index import Encoder, Library, StoryError, build_index, load_stories, parse_story
from index.lexical import BM25
from index.models import Story
from index.stories import MAX_STORY_BYTES, split_sentences

from ..conftest import CONTENT, SEED_SLUG
from ..support.strategies import FILE_NAME, HUGE_PARAGRAPH, fuzz, story_bytes

GOOD_STORY = (
    "---\ntitle: Bridge Collapse\nslug: bridge\nsources: [AP]\n---\n\nThe old rail bridge collapsed on Tuesday.\n"
)
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")


def _decoded(raw: bytes) -> str:
    return raw.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")


def check_story(story: Story, raw: bytes) -> None:
    """What the index and the bot rely on: a usable slug and title, and verbatim paragraphs and sentences."""
    text = _decoded(raw)
    lines = text.split("\n")
    assert SLUG.match(story.slug) and story.title.strip()
    assert [p.number for p in story.paragraphs] == list(range(1, len(story.paragraphs) + 1))
    for paragraph in story.paragraphs:
        assert paragraph.text and paragraph.text == paragraph.text.strip()
        assert paragraph.text in text  # verbatim: quotes are cut from this
        assert 1 <= paragraph.line <= len(lines)
        assert lines[paragraph.line - 1].strip().startswith(paragraph.text.split("\n")[0].strip())
        assert paragraph.sentences, paragraph
        end = 0
        for sentence in paragraph.sentences:
            assert end <= sentence.start < sentence.end <= len(paragraph.text)
            piece = paragraph.text[sentence.start : sentence.end]
            assert piece == piece.strip()
            end = sentence.end
    assert Story.model_validate_json(story.model_dump_json()) == story  # what stories.json stores
    BM25.fit([p.text for p in story.paragraphs])


def check_error(error: StoryError, path: Path, raw: bytes) -> None:
    assert str(error).startswith(f"{path}:") or str(error).startswith(f"{path}: ")
    assert error.reason and "\n" not in error.reason[:200]
    if error.line is not None:
        assert 1 <= error.line <= raw.count(b"\n") + raw.count(b"\r") + 2


@fuzz(400)
@given(raw=story_bytes(), name=FILE_NAME)
@example(raw=b"---\npublished: 2018-13-45\n---\n\nText.\n", name="bad-date.md")
@example(raw=b"---\ntitle: '   '\n---\n\nText.\n", name="blank-title.md")
@example(raw="Texte en français.".encode(), name="日本語.md")
@example(raw=b"---\na: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nslug: *b\n---\n\nText.\n", name="alias.md")
def test_any_file_parses_or_fails_with_file_and_line(raw: bytes, name: str) -> None:
    path = Path("content") / name
    try:
        story = parse_story(path, raw)
    except StoryError as error:
        check_error(error, path, raw)
    else:
        check_story(story, raw)


@fuzz(15)
@given(paragraph=HUGE_PARAGRAPH)
def test_huge_paragraphs_split_verbatim_in_linear_time(paragraph: str) -> None:
    spans = split_sentences(paragraph)
    assert spans and all(paragraph[s.start : s.end].strip() == paragraph[s.start : s.end] for s in spans)
    assert sum(s.end - s.start for s in spans) >= len(paragraph.strip()) - len(spans) * 2  # nothing dropped


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "dump.txt"
    path.write_bytes(b"a" * (MAX_STORY_BYTES + 1))
    try:
        parse_story(path)
    except StoryError as error:
        assert "at most" in str(error) and str(path) in str(error)
    else:  # pragma: no cover - the assertion is the point
        raise AssertionError("a 2 MB file was parsed as a story")


def _write_folder(folder: Path, files: list[tuple[str, bytes]]) -> None:
    (folder / "bridge.md").write_text(GOOD_STORY, encoding="utf-8")
    for name, raw in files:
        (folder / f"x-{name}").write_bytes(raw)


@fuzz(50)
@given(files=st.lists(st.tuples(FILE_NAME, story_bytes(huge=False)), max_size=8, unique_by=lambda f: f[0]))
def test_a_folder_of_bad_files_still_loads_the_good_story(files: list[tuple[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _write_folder(folder, files)
        result = load_stories(folder)
    slugs = [s.slug for s in result.stories]
    assert len(slugs) == len(set(slugs))
    assert len(result.stories) + len(result.errors) == len(files) + 1
    errored = [e.file for e in result.errors]
    assert len(errored) == len(set(errored))
    if "bridge" not in slugs:  # only a generated file sorted before it may claim the slug
        assert any("duplicate slug 'bridge'" in str(e) for e in result.errors)


@fuzz(4)
@given(files=st.lists(st.tuples(FILE_NAME, story_bytes(huge=False)), min_size=3, max_size=6, unique_by=lambda f: f[0]))
def test_build_indexes_the_good_stories_and_names_each_bad_file(
    files: list[tuple[str, bytes]], built_index: Path, encoder: Encoder
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        content, index_dir = Path(tmp) / "content", Path(tmp) / "index"
        shutil.copytree(CONTENT, content)
        shutil.copytree(built_index, index_dir, symlinks=True)  # the seed story's vectors are reused
        _write_folder(content, [(name.replace("white-helmets", "wh"), raw) for name, raw in files])
        expected = load_stories(content)
        report = build_index(content, index_dir, encoder=encoder)
        assert report.stories == [s.slug for s in expected.stories]
        assert SEED_SLUG in report.stories
        assert report.errors == [str(e) for e in expected.errors]
        library = Library.load(index_dir, encoder=encoder)
        assert library.ask("How many White Helmets are still trapped in Syria?").shows_quotes
        if "bridge" in report.stories:
            assert library.ask("What collapsed on Tuesday?", "bridge").shows_quotes
