"""Reading story files: both formats, the seed story, and malformed files named with their line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from index.stories import StoryError, load_stories, parse_story, split_sentences

from ..conftest import CONTENT, SEED_SLUG


def test_seed_story_plain_text() -> None:
    story = parse_story(CONTENT / f"{SEED_SLUG}.txt")
    assert story.slug == SEED_SLUG
    assert story.title == "White Helmets Trapped in Syria"
    assert story.sources == ("NPR", "CNN")
    assert [p.number for p in story.paragraphs] == [1, 2, 3, 4]
    assert all("Original Source" not in p.text for p in story.paragraphs)
    assert story.paragraphs[0].sentence_text(0).startswith("Nearly 300 White Helmet rescue workers")


def test_markdown_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "flood.md"
    path.write_text(
        "---\ntitle: River floods the old town\nslug: river-flood\nbyline: A. Reporter\npublished: 2024-03-05\n"
        "url: https://example.org/flood\nsources: [AP, Reuters]\n---\n\nThe river rose 3.5 m overnight.\n\n"
        'Dr. Lee said "We are ready. We have boats." Officials agreed.\n',
        encoding="utf-8",
    )
    story = parse_story(path)
    assert (story.slug, story.title, story.byline) == ("river-flood", "River floods the old town", "A. Reporter")
    assert story.published == dt.date(2024, 3, 5)
    assert story.url == "https://example.org/flood"
    assert story.sources == ("AP", "Reuters")
    assert [p.number for p in story.paragraphs] == [1, 2]
    second = story.paragraphs[1]
    assert [second.sentence_text(i) for i in range(len(second.sentences))] == [
        'Dr. Lee said "We are ready. We have boats."',
        "Officials agreed.",
    ]


def test_plain_text_heading_becomes_title(tmp_path: Path) -> None:
    path = tmp_path / "whatever.txt"
    path.write_text("# Storm Hits Coast\n\nWinds reached 150 km/h.\n\nOriginal Source(s): BBC\n", encoding="utf-8")
    story = parse_story(path)
    assert story.title == "Storm Hits Coast"
    assert story.sources == ("BBC",)
    assert len(story.paragraphs) == 1


def test_crlf_and_bom_are_read(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes("\ufeffFirst para.\r\n\r\nSecond para.\r\n".encode())
    story = parse_story(path)
    assert [p.text for p in story.paragraphs] == ["First para.", "Second para."]


def test_sentences_keep_abbreviations_and_figures() -> None:
    text = "The U.S. said 115,000 lives were saved. Mr. Hunt agreed at 3 p.m. on Monday."
    spans = split_sentences(text)
    assert [text[s.start : s.end] for s in spans] == [
        "The U.S. said 115,000 lives were saved.",
        "Mr. Hunt agreed at 3 p.m. on Monday.",
    ]


@pytest.mark.parametrize(
    ("raw", "line", "fragment"),
    [
        (b"---\ntitle: ok\nsources: [a, b\n---\n\nText.\n", 3, "not valid YAML"),
        (b"---\ntitle: never closed\n\nText.\n", 1, "never closed"),
        (b"First line.\n\nSecond \xff\xfe line.\n", 3, "not UTF-8"),
        (b"---\ntitle: empty\n---\n\n\n", None, "no paragraphs"),
        (b"---\npublished: last tuesday\n---\n\nText.\n", 2, "not a date"),
        (b"\x00\x01\x02binary", 1, "binary"),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path: Path, raw: bytes, line: int | None, fragment: str) -> None:
    path = tmp_path / "bad.md"
    path.write_bytes(raw)
    with pytest.raises(StoryError) as caught:
        parse_story(path)
    assert fragment in str(caught.value)
    assert str(path) in str(caught.value)
    if line is not None:
        assert caught.value.line == line
        assert f"bad.md:{line}:" in str(caught.value)


def test_a_link_out_of_the_content_folder_is_refused(tmp_path: Path) -> None:
    """`content/passwd.txt -> /etc/passwd` must not become a story: a link may only lead to a file inside the folder."""
    content, outside = tmp_path / "content", tmp_path / "outside"
    (content / "drafts").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("The vault code is 4321.\n", encoding="utf-8")
    (content / "drafts" / "bridge.txt").write_text("A bridge collapsed on Tuesday.\n", encoding="utf-8")
    (content / "passwd.txt").symlink_to(outside / "secret.txt")
    (content / "up.txt").symlink_to(Path("..") / "outside" / "secret.txt")  # relative, through ..
    (content / "bridge.txt").symlink_to(Path("drafts") / "bridge.txt")  # inside the folder: a story like any other
    result = load_stories(content)
    assert [s.slug for s in result.stories] == ["bridge"]
    assert sorted(e.file for e in result.errors) == [str(content / "passwd.txt"), str(content / "up.txt")]
    assert all("is a link to a file outside the content folder" in str(e) for e in result.errors)
    assert "vault" not in repr(result)


def test_duplicate_slug_is_an_error_and_others_still_load(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\nslug: same\n---\n\nOne.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("---\nslug: same\n---\n\nTwo.\n", encoding="utf-8")
    (tmp_path / "c.txt").write_text("Three.\n", encoding="utf-8")
    result = load_stories(tmp_path)
    assert sorted(s.slug for s in result.stories) == ["c", "same"]
    assert len(result.errors) == 1
    assert "duplicate slug 'same'" in str(result.errors[0]) and "a.md" in str(result.errors[0])


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("example.org/flood", "must be a web address starting with https://"),
        ("javascript:alert(1)", "must be a web address"),
        ("ftp://files.example/flood", "must be a web address"),
        ("https://", "must be a web address"),
        ("'https://x.example/a>) [Click me](https://evil.example)'", "contains '>'"),
        ("'https://x.example/a b'", "contains ' '"),
        ('"https://x.example/a\\tb"', "contains '\\t'"),
        ("https://[::1", "must be a web address"),  # urlsplit raises ValueError: still one clear line
    ],
)
def test_a_story_url_that_discord_cannot_link_is_refused_with_its_line(tmp_path: Path, url: str, says: str) -> None:
    path = tmp_path / "flood.md"
    path.write_text(f"---\ntitle: Flood\nurl: {url}\n---\n\nThe river rose.\n", encoding="utf-8")
    with pytest.raises(StoryError) as error:
        parse_story(path)
    assert error.value.line == 3 and says in error.value.reason and str(error.value).startswith(f"{path}:3")


@pytest.mark.parametrize("url", ["https://en.example/wiki/Flood_(2018)", "HTTP://X.EXAMPLE/a?b=1#c", ""])
def test_web_addresses_are_kept(tmp_path: Path, url: str) -> None:
    path = tmp_path / "flood.md"
    path.write_text(f"---\ntitle: Flood\nurl: {url}\n---\n\nThe river rose.\n", encoding="utf-8")
    assert parse_story(path).url == (url or None)


def test_an_unknown_story_names_a_few_stories_and_the_command_that_lists_them() -> None:
    from index import UnknownStory

    known = [f"story-{i:05d}" for i in range(10_000)]
    message = str(UnknownStory("story-0042x", known))
    assert len(message) < 300 and "10,000 in all" in message and "`newsroom-bot stories`" in message
    assert message.startswith("no story 'story-0042x'; did you mean story-")
    far = str(UnknownStory("flood", known))
    assert "known stories include story-00000, story-00001" in far and len(far) < 300
    assert str(UnknownStory("flood", ["a", "b"])) == "no story 'flood'; known stories: a, b"
