"""`build` on a content folder with no stories says so, and where to put them; not "1 story file could not be used"."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import cli
from bot.cogs.admin import report_text
from index import Encoder, build_index


def build(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], content: Path, tmp: Path
) -> tuple[int, str, str]:
    monkeypatch.setenv("CONTENT_DIR", str(content))
    monkeypatch.setenv("INDEX_DIR", str(tmp / "index"))
    code = cli.main(["build"])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_an_empty_content_folder_says_there_are_no_stories_and_where_to_put_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, encoder: Encoder
) -> None:
    content = tmp_path / "content"
    content.mkdir()
    report = build_index(content, tmp_path / "index", encoder=encoder)
    assert report.stories == [] and report.errors == [] and not report.ok
    code, _, err = build(monkeypatch, capsys, content, tmp_path)
    assert code == 1 and err.strip() == (
        f"There are no stories in {content}: put story files there (.md, .markdown or .txt, one story each) "
        "and build again."
    )
    assert "could not be used" not in err
    assert "no stories in the content folder" in report_text(report) and "/reindex" in report_text(report)


def test_a_folder_of_only_bad_files_names_each_and_counts_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    content = tmp_path / "content"
    content.mkdir()
    (content / "empty.txt").write_bytes(b"")
    code, _, err = build(monkeypatch, capsys, content, tmp_path)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 2 and lines[0].startswith(f"error: {content / 'empty.txt'}")
    assert lines[1] == f"The one story file in {content} could not be used; see the errors above. Nothing was built."
    (content / "bad.md").write_bytes(b"---\ntitle: [unclosed\n---\n\nText.\n")
    code, _, err = build(monkeypatch, capsys, content, tmp_path)
    assert code == 1 and err.strip().splitlines()[-1].startswith(f"None of the 2 story files in {content} could be")
