"""`newsroom-bot`: build the index, ask, summarise, list stories, chat in the terminal, report, or run on Discord.

Each command's docstring is its `--help` (Click), so the help is written once, here. This is the one module that
sees both the engine (`index`) and the Discord face (`bot`); Discord is only imported by `run`, so the terminal
commands start fast.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from index import DatabaseIndex, Encoder, IndexProblem, Library, load_encoder

from ..settings import MAX_RETENTION_DAYS, Settings, load_settings
from .batch import run_batch
from .failures import EXIT_ERROR, EXIT_OK, EXIT_USAGE, CommandError, check_text, describe_os_error
from .terminal import ProgressBar, count, format_answer, format_stories, format_summary, nothing_built

DEMO_QUESTION = "How many White Helmets are still trapped in Syria?"
F = TypeVar("F", bound=Callable[..., Any])
PATH = click.Path(path_type=Path)


def index_option(f: F) -> F:
    return click.option("--index", type=PATH, help="Index folder (default: INDEX_DIR, or ./data/index).")(f)


def json_option(what: str) -> Callable[[F], F]:
    return click.option("--json", "as_json", is_flag=True, help=f"Print the {what} as JSON.")


class Days(click.FloatRange):
    """`report --since`: more than 0 days, at most MAX_RETENTION_DAYS (no log keeps more, and `inf` or `1e308`
    overflowed the date arithmetic), and a number (`nan` passes every comparison, so the range alone let it by)."""

    def __init__(self) -> None:
        super().__init__(min=0, min_open=True, max=MAX_RETENTION_DAYS)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        days = super().convert(value, param, ctx)
        if math.isnan(days):
            self.fail(f"{value!r} is not a number of days; give one from 0 to {MAX_RETENTION_DAYS:,}", param, ctx)
        return days


def open_library(index: Path | None, settings: Settings) -> Library:
    """The Library a command answers from: `--index` or INDEX_DIR (or DATABASE_URL), loaded as the settings say."""
    database = DatabaseIndex(settings.database, index or settings.index_dir) if settings.database else None
    return Library.load(index or settings.index_dir, options=settings.engine_options(), database=database)


@dataclass(frozen=True)
class Services:
    """What the commands open, carried as Click's context object: `main(argv, services=...)` hands in others (a
    test serves the library it built once, or one that fails)."""

    open_library: Callable[[Path | None, Settings], Library] = open_library


def _library(index: Path | None, settings: Settings) -> Library:
    services = click.get_current_context().find_object(Services) or Services()
    return services.open_library(index, settings)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show the Python traceback of an unexpected error.")
def cli(debug: bool) -> None:
    """Answer readers' questions about your stories with verbatim, attributed quotes.

    \b
    First steps:
      newsroom-bot build      index the stories in CONTENT_DIR (default ./content)
      newsroom-bot chat       ask questions at a prompt
      newsroom-bot run        answer on Discord (needs DISCORD_TOKEN)

    Settings come from the environment and a .env file (see .env.example). `newsroom-bot COMMAND --help` says
    more about each command.

    Exit codes: 0 done; 1 something in the data or on the machine is wrong (no index, a bad story or batch line,
    a folder that can't be written, a damaged question log); 2 the command is wrong (a bad option or setting,
    text that isn't UTF-8, no DISCORD_TOKEN for run).
    """


@cli.command()
@click.option("--content", type=PATH, help="Story folder (default: CONTENT_DIR, or ./content).")
@index_option
@click.option("--force", is_flag=True, help="Embed every story again, changed or not.")
def build(content: Path | None, index: Path | None, force: bool) -> int:
    """Index the story files, embedding only new and changed stories.

    The new index is swapped in at once, and a bot serving the index picks the new build up by itself. A story file that can't be used is named with
    its line and left out, the others are still indexed, and the exit code is 1. If the index folder can't
    be written (read-only, full disk), the index already there is left as it was.
    """
    return _build(load_settings(), content, index, force)


def _build(settings: Settings, content: Path | None, index: Path | None, force: bool) -> int:
    from index import build_index  # here, not at the top: `ask` never builds, and the build's imports are slow

    index_dir = index or settings.index_dir
    try:
        report = build_index(
            content or settings.content_dir,
            index_dir,
            settings.engine_options(),
            progress=ProgressBar if sys.stderr.isatty() else None,
            force=force,
        )
    except OSError as exc:
        if exc.errno is None:
            raise
        doing = f"building the index in {index_dir}"
        raise CommandError(f"{describe_os_error(exc, doing)}. Any index already there is unchanged.") from None
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    if report.changed:
        print(
            f"Indexed {count(len(report.stories), 'story', 'stories')} ({report.paragraphs} paragraphs, "
            f"{report.sentences} sentences) in {report.index}: "
            f"embedded {len(report.embedded)}, reused {len(report.reused)}."
        )
    elif report.stories:
        print(f"Index {report.index} is up to date ({len(report.stories)} stories); nothing to embed.")
    if not report.stories:
        print(nothing_built(len(report.errors), content or settings.content_dir), file=sys.stderr)
        return EXIT_ERROR
    if report.errors:
        print(f"{len(report.errors)} story file(s) could not be used; see the errors above.", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


@cli.command()
@click.argument("question", nargs=-1)
@click.option("--story", help="Only this story (a slug; `newsroom-bot stories` lists them).")
@json_option("Answer")
@click.option("--batch", metavar="FILE", help="Answer every question in FILE, a JSONL file; - reads standard input.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="With --batch FILE: processes answering it (default: one per core; 1 with DATABASE_URL or from stdin).",
)
@index_option
def ask(
    question: tuple[str, ...],
    story: str | None,
    as_json: bool,
    batch: str | None,
    workers: int | None,
    index: Path | None,
) -> int:
    """Answer a question with verbatim quotes, or say the stories don't cover it.

    \b
      newsroom-bot ask How many White Helmets are still trapped?
      newsroom-bot ask --batch questions.jsonl > answers.jsonl

    When the engine isn't sure the story answers it, it prints the closest passage under a one-line hedge
    (status "closest" in JSON, with its quotes); that is a reply, not an error: exit code 0, as for an answer or
    "doesn't say".

    With --batch, each line of FILE is a JSON object, {"question": "...", "story": "optional-slug"}, and each
    answer is printed as one JSON line, in order. A bad line doesn't stop the batch: in its place goes
    {"line": N, "status": "error", "error": "..."}, and FILE:N and the reason go to standard error, so the
    Nth output line is always about the Nth non-blank input line. Blank lines are skipped. The exit code is 1
    if any line was bad, after every good line has been answered. From a file, --workers processes (one per
    core) answer chunks of lines; the answers are the same, in the same order.
    """
    text = " ".join(question)
    check_text(text, "the question")
    check_text(story, "the story")
    if not batch and not text.strip():
        raise CommandError("give a question, or --batch FILE", EXIT_USAGE)
    settings = load_settings()
    library = _library(index, settings)
    if batch:
        if settings.database:  # a PostgreSQL connection must not be shared by forked workers
            workers = 1
        elif workers is None:
            workers = len(os.sched_getaffinity(0))
        bad = run_batch(library, batch, top_k=settings.top_k, workers=workers)
        if bad:
            print(
                f"{count(bad, 'line', 'lines')} of the batch could not be asked; see the errors above.",
                file=sys.stderr,
            )
        return EXIT_ERROR if bad else EXIT_OK
    answer = library.ask(text, story, top_k=settings.top_k)
    print(answer.model_dump_json(indent=2) if as_json else format_answer(answer))
    return EXIT_OK


@cli.command()
@click.option("--story", help="The story's slug (needed when several are indexed).")
@click.option("--sentences", type=click.IntRange(1, 50), default=3, show_default=True, help="How many sentences.")
@json_option("Summary")
@index_option
def summary(story: str | None, sentences: int, as_json: bool, index: Path | None) -> int:
    """Summarise a story in its own words.

    Its most central sentences, verbatim and in story order, with paragraph numbers and sources."""
    check_text(story, "the story")
    settings = load_settings()
    result = _library(index, settings).summary(story, sentences=sentences)
    print(result.model_dump_json(indent=2) if as_json else format_summary(result))
    return EXIT_OK


@cli.command()
@json_option("stories")
@index_option
def stories(as_json: bool, index: Path | None) -> int:
    """List the indexed stories.

    Each with its slug (what --story takes), title, paragraphs, sources, and when it was indexed and updated."""
    found = _library(index, load_settings()).stories()
    if as_json:
        print(json.dumps([s.model_dump(mode="json") for s in found], indent=2))
        return EXIT_OK
    if found:
        print(format_stories(found))
    return EXIT_OK


@cli.command()
@click.option("--story", help="Only this story (a slug).")
@index_option
def chat(story: str | None, index: Path | None) -> int:
    """Ask questions at a prompt in the terminal.

    `summary` summarises the story, an empty line or Ctrl-D quits. Without a terminal (a pipe, or standard input closed) it answers one demonstration question and stops.
    """
    check_text(story, "the story")
    return _chat(load_settings(), index, story)


def _chat(settings: Settings, index: Path | None, story: str | None) -> int:
    library = _library(index, settings)
    titles = ", ".join(f"“{s.title}”" for s in library.stories())
    if sys.stdin is None or not sys.stdin.isatty():
        print(f"Stories: {titles}\n\n> {DEMO_QUESTION}\n")
        print(format_answer(library.ask(DEMO_QUESTION, story, top_k=settings.top_k)))
        return EXIT_OK
    print(f"Ask about {titles}. 'summary' summarises, an empty line or Ctrl-D quits.")
    while True:
        try:
            question = input("\n> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return EXIT_OK
        if not question:
            return EXIT_OK
        if question.lower() in {"summary", "/summary"}:
            print(format_summary(library.summary(story or library.stories()[0].slug)))
            continue
        print(format_answer(library.ask(question, story, top_k=settings.top_k)))


@cli.command()
@click.option(
    "--since",
    type=Days(),
    default=7.0,
    show_default=True,
    metavar="DAYS",
    help=f"The last DAYS days (more than 0, up to {MAX_RETENTION_DAYS:,}).",
)
@click.option("--story", help="Only questions about this story (a slug).")
@click.option("--out", type=PATH, default=Path("reports"), show_default=True, metavar="DIR", help="Output folder.")
@click.option("--log", type=PATH, help="Question log file (default: DATABASE_URL when set, else QUESTION_LOG_PATH).")
@index_option
def report(since: float, story: str | None, out: Path, log: Path | None, index: Path | None) -> int:
    """Write what readers asked, for editors: a Markdown page and a PNG chart.

    From the question log: unanswered questions grouped by meaning, the most asked, the helpful rate
    (👍 / (👍 + 👎)), and counts per story and per day. It only reads the log, so it is safe beside a running
    bot. Without an index it still reports, leaving out story titles and paragraph checks.
    """
    from ..editorial.questionlog import open_reader
    from ..editorial.report import gather
    from ..editorial.report_render import write_report

    check_text(story, "the story")
    settings = load_settings()
    target = log or settings.question_log_target
    conn = open_reader(target)  # first: a missing or damaged log is said before any model loads
    try:
        library: Library | None = None
        encoder: Encoder
        try:
            library = _library(index, settings)
            encoder = library.encoder
        except IndexProblem as exc:
            print(f"note: no index ({exc}); story titles and paragraph checks are left out", file=sys.stderr)
            library, encoder = None, load_encoder(settings.model, settings.model_adapter)
        data = gather(conn, encoder, days=since, story=story, library=library)
    except conn.backend.errors() as exc:
        where = conn.backend.where
        raise CommandError(f"the question log {where} is damaged ({exc}): restore it from a backup") from None
    finally:
        conn.close()
    try:
        md, png = write_report(data, out)
    except OSError as exc:
        raise CommandError(describe_os_error(exc, "writing the report") + " (--out DIR picks the folder)") from None
    print(f"{data.total} questions in the last {since:g} days. Wrote {md} and {png}")
    return EXIT_OK


@cli.command()
def start() -> int:
    """Build if needed, then run on Discord (DISCORD_TOKEN set) or chat.

    This is what `make run` does: without a token it answers at a prompt in the terminal. When the index can't be built (a read-only INDEX_DIR, a bad story), it
    says why and serves the index that is there.
    """
    settings = load_settings()
    try:
        status = _build(settings, None, None, force=False)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        status = EXIT_ERROR
    if status != EXIT_OK:
        print("The build did not finish cleanly; starting with the index as it is.", file=sys.stderr)
    if settings.has_token:
        return _run(settings)
    print("No DISCORD_TOKEN set: answering in the terminal (see README, 'Run it on Discord').\n")
    return _chat(settings, None, None)


@cli.command()
def run() -> int:
    """Run the Discord bot (needs DISCORD_TOKEN).

    Without a token it says how to get one (exit 2). It serves INDEX_DIR and picks up each new build as it lands. Without an index it starts anyway and tells
    readers to come back shortly. Ctrl-C or SIGTERM lets the answers in flight finish first.
    """
    return _run(load_settings())


def _run(settings: Settings) -> int:
    from ..runner import run_bot

    return run_bot(settings)
