"""Reading story files: Markdown with YAML front matter, or the newsroom's plain-text shape.

Paragraph text is kept exactly as written (only line endings are normalised and the paragraph's outer
white space trimmed), because every quote must be a verbatim slice of it. A file that cannot be read
raises `StoryError` naming the file and the line, so an editor can fix it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from .errors import StoryError
from .models import Paragraph, Sentence, Story
from .sentences import PARSER_VERSION, split_sentences

STORY_SUFFIXES = (".md", ".markdown", ".txt")
MAX_STORY_BYTES = 2_000_000  # a long feature is ~100 kB; anything far bigger is a wrong file, not a story
_SOURCES_LINE = re.compile(r"^\s*(?:original\s+)?sources?(?:\(s\))?\s*:\s*(.*?)\s*$", re.IGNORECASE)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
_SLUG_OK = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
_SMALL_WORDS = frozenset(
    ["a", "an", "and", "as", "at", "but", "by", "for", "in", "nor", "of", "on", "or", "the", "to", "up", "via", "vs"]
)
_BLANK = re.compile(r"\n[ \t\u00a0]*\n")


@dataclass(frozen=True)
class LoadResult:
    stories: list[Story]
    errors: list[StoryError]


def title_from_filename(stem: str) -> str:
    words = re.split(r"[-_\s]+", stem.strip())
    titled = [
        w if (i and w.lower() in _SMALL_WORDS) else w[:1].upper() + w[1:]
        for i, w in enumerate(w.lower() for w in words if w)
    ]
    return " ".join(titled) or stem


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:100].strip("-")


def _decode(raw: bytes, path: Path) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise StoryError(path, "is UTF-16 text; save the file as UTF-8", 1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise StoryError(path, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8", line) from exc
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise StoryError(path, "contains a NUL byte: this looks like a binary file, not a story", line)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _paragraphs(body: str, first_line: int) -> list[tuple[str, int]]:
    """Blank-line separated blocks of `body`, each with the file line it starts on."""
    out: list[tuple[str, int]] = []
    pos = 0
    for match in [*_BLANK.finditer(body), None]:
        end = match.start() if match else len(body)
        block = body[pos:end]
        if block.strip():
            lead = len(block) - len(block.lstrip())
            line = first_line + body[: pos + lead].count("\n")
            out.append((block.strip(), line))
        pos = match.end() if match else len(body)
    return out


def _split_sources(value: str) -> tuple[str, ...]:
    parts = value.split(";") if ";" in value else value.split(",")
    return tuple(p.strip() for p in parts if p.strip())


def _yaml_line_ok(line: str) -> bool:
    try:
        yaml.safe_load(line)
    except Exception:
        return False
    return True


def _front_matter(text: str, path: Path) -> tuple[dict[str, object], str, int]:
    """(metadata, body, line where the body starts) for a file opening with `---`."""
    lines = text.split("\n")
    try:
        close = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
    except StopIteration:
        raise StoryError(path, "front matter opened with '---' is never closed by another '---'", 1) from None
    try:
        meta = yaml.safe_load("\n".join(lines[1:close])) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["unknown error"])[0]
        raise StoryError(path, f"front matter is not valid YAML: {problem}", line) from exc
    except (ValueError, OverflowError, RecursionError, TypeError) as exc:  # e.g. `published: 2018-13-45`
        line = next((i + 2 for i, entry in enumerate(lines[1:close]) if not _yaml_line_ok(entry)), 2)
        raise StoryError(path, f"front matter has a value YAML cannot read: {exc}", line) from exc
    if not isinstance(meta, dict):
        raise StoryError(path, "front matter must be 'key: value' lines", 2)
    return meta, "\n".join(lines[close + 1 :]), close + 2


def _meta_line(meta: dict[str, object], key: str, text: str) -> int:
    """Best guess of the line a front-matter key sits on, for error messages."""
    for i, line in enumerate(text.split("\n")[:200]):
        if line.lstrip().lower().startswith(f"{key}:"):
            return i + 1
    return 1


def _date(value: object, path: Path, line: int, key: str = "published") -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise StoryError(path, f"{key} date {value!r} is not a date like 2018-07-24", line) from None


def _url(value: object, path: Path, line: int) -> str | None:
    """The story's link: http(s) with a host (Discord refuses any other embed url, so `/summary` would fail),
    and nothing that could end a Markdown link around it (white space, `<`, `>`, quotes)."""
    if value is None or value == "":
        return None
    url = str(value).strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise StoryError(path, f"url {url!r} must be a web address starting with https:// or http://", line)
    if bad := next((c for c in url if c.isspace() or c in '<>"' or not c.isprintable()), None):
        raise StoryError(path, f"url {url!r} contains {bad!r}; write it %-encoded (a space is %20)", line)
    return url


def parse_story(path: Path, raw: bytes | None = None, known: Mapping[str, tuple[Sentence, ...]] | None = None) -> Story:
    """Parse one story file; raises StoryError naming the file and line when it is malformed. `known`: sentences of
    paragraphs split before, by paragraph text (`sentences.split_sentences`)."""
    if raw is None:
        size = path.stat().st_size
        if size > MAX_STORY_BYTES:
            raise StoryError(path, f"is {size:,} bytes; a story file is at most {MAX_STORY_BYTES:,} (wrong file?)")
        raw = path.read_bytes()
    elif len(raw) > MAX_STORY_BYTES:
        raise StoryError(path, f"is {len(raw):,} bytes; a story file is at most {MAX_STORY_BYTES:,} (wrong file?)")
    text = _decode(raw, path)
    meta: dict[str, object] = {}
    body, body_line = text, 1
    if text.lstrip("\n").startswith("---"):
        skipped = len(text) - len(text.lstrip("\n"))
        meta, body, body_line = _front_matter(text[skipped:], path)
        body_line += skipped

    for key in ("title", "slug", "byline", "url"):
        if key in meta and meta[key] is not None and not isinstance(meta[key], (str, int, float)):
            raise StoryError(path, f"{key} must be plain text", _meta_line(meta, key, text))
    for key in ("published", "date"):
        if key in meta and not isinstance(meta[key], (str, int, dt.date, type(None))):
            raise StoryError(path, f"{key} must be a date like 2018-07-24", _meta_line(meta, key, text))
    blocks = _paragraphs(body, body_line)
    title = meta.get("title")
    if isinstance(title, str):
        title = title.strip()
    if blocks and not title:
        heading = _HEADING.match(blocks[0][0])
        if heading and "\n" not in blocks[0][0]:
            title = heading.group(1)
            blocks = blocks[1:]
    sources: tuple[str, ...] = ()
    if blocks:
        *rest, (last, last_line) = blocks
        last_lines = last.split("\n")
        found = _SOURCES_LINE.match(last_lines[-1])
        if found and not meta.get("sources"):
            sources = _split_sources(found.group(1))
            kept = "\n".join(last_lines[:-1]).strip()
            blocks = [*rest, (kept, last_line)] if kept else rest
    if meta.get("sources"):
        raw_sources = meta["sources"]
        if isinstance(raw_sources, str):
            sources = _split_sources(raw_sources)
        elif isinstance(raw_sources, list) and all(isinstance(s, (str, int, float)) for s in raw_sources):
            sources = tuple(str(s).strip() for s in raw_sources if str(s).strip())
        else:
            raise StoryError(path, "sources must be a list of names or 'NPR; CNN'", _meta_line(meta, "sources", text))
    if not blocks:
        raise StoryError(path, "no paragraphs: a story needs text separated by blank lines", text.count("\n") + 1)

    slug = str(meta.get("slug") or slugify(path.stem))
    if not slug:
        raise StoryError(path, "no slug can be made from the file name: add a 'slug: my-story' front-matter line", 1)
    if not _SLUG_OK.match(slug):
        raise StoryError(
            path, f"slug {slug!r} must be lower-case letters, digits and '-'", _meta_line(meta, "slug", text)
        )
    paragraphs = tuple(
        Paragraph(number=i, text=block, sentences=split_sentences(block, known), line=line)
        for i, (block, line) in enumerate(blocks, start=1)
    )
    digest = hashlib.sha256(PARSER_VERSION.encode() + b"\0" + raw).hexdigest()
    return Story(
        slug=slug,
        title=str(title).strip() or slug if title else title_from_filename(path.stem) or slug,
        byline=str(meta["byline"]) if meta.get("byline") else None,
        published=_date(meta.get("published", meta.get("date")), path, _meta_line(meta, "published", text)),
        updated=_date(meta.get("updated"), path, _meta_line(meta, "updated", text), "updated"),
        url=_url(meta.get("url"), path, _meta_line(meta, "url", text)),
        sources=sources,
        paragraphs=paragraphs,
        file=path.name,
        content_hash=digest,
    )


def story_files(content_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in content_dir.iterdir()
        if p.is_file() and p.suffix.lower() in STORY_SUFFIXES and not p.name.startswith(".")
    )


def _refused(path: Path, root: Path) -> StoryError | None:
    """A file the build must not read: a name that is not UTF-8 (it could be stored, shown or sent nowhere), or a
    link that leads out of the content folder (a story must not be a way to publish any file on the machine)."""
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        return StoryError(path, "its file name is not UTF-8: rename the file (letters, digits and dashes are safest)")
    if not path.resolve().is_relative_to(root):
        return StoryError(path, "is a link to a file outside the content folder: copy the story into the folder")
    return None


def load_stories(
    content_dir: Path, files: Iterable[Path] | None = None, known: Mapping[str, tuple[Sentence, ...]] | None = None
) -> LoadResult:
    """Every readable story in `content_dir`; each unreadable one becomes an error, the rest still load. `known`: the
    sentences of paragraphs split before, by paragraph text (a build passes the previous build's)."""
    if not content_dir.is_dir():
        raise FileNotFoundError(f"content folder {content_dir} does not exist")
    stories: list[Story] = []
    errors: list[StoryError] = []
    seen: dict[str, Story] = {}
    root = content_dir.resolve()
    for path in files if files is not None else story_files(content_dir):
        refused = _refused(path, root)
        if refused is not None:
            errors.append(refused)
            continue
        try:
            story = parse_story(path, known=known)
        except StoryError as exc:
            errors.append(exc)
            continue
        except OSError as exc:
            errors.append(StoryError(path, f"cannot be read: {exc.strerror or exc}"))
            continue
        if story.slug in seen:
            errors.append(StoryError(path, f"duplicate slug {story.slug!r}: {seen[story.slug].file} already uses it"))
            continue
        seen[story.slug] = story
        stories.append(story)
    return LoadResult(stories=stories, errors=errors)
