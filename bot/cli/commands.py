"""`newsroom-bot`: build the index, ask, summarise, list stories, chat in the terminal, or run on Discord.

This is the one module that sees both the engine (`index`) and the Discord face (`bot`); Discord is only
imported by `run`, so the terminal commands start fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from index import Encoder, IndexProblem, Library, build_index, load_encoder

from ..settings import Settings, load_settings
from .batch import run_batch
from .failures import EXIT_ERROR, EXIT_OK, EXIT_USAGE, CommandError, check_text, describe_os_error, explain
from .terminal import ProgressBar, format_answer, format_summary

DEMO_QUESTION = "How many White Helmets are still trapped in Syria?"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    index_dir = args.index or settings.index_dir
    try:
        report = build_index(
            args.content or settings.content_dir,
            index_dir,
            model=settings.model,
            adapter=settings.model_adapter,
            reader=settings.reader_model,
            quantization=settings.quantization,
            index_type=settings.index_type,
            progress=ProgressBar if sys.stderr.isatty() else None,
            force=args.force,
        )
    except OSError as exc:
        if exc.errno is None:
            raise
        raise CommandError(
            f"{describe_os_error(exc, f'building the index in {index_dir}')}. Any index already there is unchanged."
        ) from None
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    if report.changed:
        print(
            f"Indexed {_count(len(report.stories), 'story', 'stories')} ({report.paragraphs} paragraphs, {report.sentences} sentences) "
            f"in {report.index}: embedded {len(report.embedded)}, reused {len(report.reused)}."
        )
    elif report.stories:
        print(f"Index {report.index} is up to date ({len(report.stories)} stories); nothing to embed.")
    if not report.stories:
        print(_nothing_built(len(report.errors), args.content or settings.content_dir), file=sys.stderr)
        return EXIT_ERROR
    if report.errors:
        print(f"{len(report.errors)} story file(s) could not be used; see the errors above.", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _nothing_built(bad_files: int, folder: Path) -> str:
    """Why a build made nothing: an empty content folder (say where stories go), or only unusable files."""
    if not bad_files:
        return (
            f"There are no stories in {folder}: put story files there (.md, .markdown or .txt, one story each) "
            "and build again."
        )
    which = "The one story file" if bad_files == 1 else f"None of the {bad_files} story files"
    return (
        f"{which} in {folder} could {'not ' if bad_files == 1 else ''}be used; see the errors above. Nothing was built."
    )


def _library(args: argparse.Namespace, settings: Settings) -> Library:
    return Library.load(getattr(args, "index", None) or settings.index_dir, expect_model=settings.model)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    library = _library(args, settings)
    if args.batch:
        bad = run_batch(library, args.batch, top_k=settings.top_k)
        if bad:
            print(
                f"{_count(bad, 'line', 'lines')} of the batch could not be asked; see the errors above.",
                file=sys.stderr,
            )
        return EXIT_ERROR if bad else EXIT_OK
    if not args.question:
        print("error: give a question, or --batch FILE", file=sys.stderr)
        return EXIT_USAGE
    answer = library.ask(" ".join(args.question), args.story, top_k=settings.top_k)
    print(answer.model_dump_json(indent=2) if args.json else format_answer(answer))
    return EXIT_OK


def cmd_summary(args: argparse.Namespace, settings: Settings) -> int:
    library = _library(args, settings)
    summary = library.summary(args.story, sentences=args.sentences)
    print(summary.model_dump_json(indent=2) if args.json else format_summary(summary))
    return EXIT_OK


def cmd_stories(args: argparse.Namespace, settings: Settings) -> int:
    stories = _library(args, settings).stories()
    if args.json:
        print(json.dumps([s.model_dump(mode="json") for s in stories], indent=2))
        return EXIT_OK
    for s in stories:
        print(f"{s.slug}\n  {s.title} · {s.paragraphs} paragraphs · sources: {'; '.join(s.sources) or 'not listed'}")
        updated = f" · updated {s.updated:%Y-%m-%d}" if s.updated else ""
        print(f"  indexed {s.indexed_at:%Y-%m-%d %H:%M} UTC{updated}" + (f" · {s.url}" if s.url else ""))
    return EXIT_OK


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    library = _library(args, settings)
    titles = ", ".join(f"“{s.title}”" for s in library.stories())
    if sys.stdin is None or not sys.stdin.isatty():  # a pipe, /dev/null or no stdin at all: one demo answer
        print(f"Stories: {titles}\n\n> {DEMO_QUESTION}\n")
        print(format_answer(library.ask(DEMO_QUESTION, args.story, top_k=settings.top_k)))
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
            print(format_summary(library.summary(args.story or library.stories()[0].slug)))
            continue
        print(format_answer(library.ask(question, args.story, top_k=settings.top_k)))


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """Markdown and a PNG of what readers asked, from the question log (see README, "For editors")."""
    from ..editorial.questionlog import open_reader
    from ..editorial.report import gather
    from ..editorial.report_render import write_report

    log_path = args.log or settings.question_log_file
    conn = open_reader(log_path)  # first: a missing or damaged log is said before any model loads
    try:
        library: Library | None = None
        encoder: Encoder
        try:
            library = _library(args, settings)
            encoder = library.encoder
        except IndexProblem as exc:
            print(f"note: no index ({exc}); story titles and paragraph checks are left out", file=sys.stderr)
            library, encoder = None, load_encoder(settings.model, settings.model_adapter)
        data = gather(conn, encoder, days=args.since, story=args.story, library=library)
    except sqlite3.DatabaseError as exc:
        raise CommandError(f"the question log {log_path} is damaged ({exc}): restore it from a backup") from None
    finally:
        conn.close()
    try:
        md, png = write_report(data, args.out)
    except OSError as exc:
        raise CommandError(describe_os_error(exc, "writing the report") + " (--out DIR picks the folder)") from None
    print(f"{data.total} questions in the last {args.since:g} days. Wrote {md} and {png}")
    return EXIT_OK


def cmd_start(args: argparse.Namespace, settings: Settings) -> int:
    """What `make run` does: build if needed, then the bot with a token or the terminal without."""
    try:
        status = cmd_build(argparse.Namespace(content=None, index=None, force=False), settings)
    except CommandError as exc:  # e.g. INDEX_DIR is read-only: serve the index that is there, if there is one
        print(f"error: {exc}", file=sys.stderr)
        status = EXIT_ERROR
    if status != EXIT_OK:
        print("The build did not finish cleanly; starting with the index as it is.", file=sys.stderr)
    if settings.has_token:
        return cmd_run(args, settings)
    print("No DISCORD_TOKEN set: answering in the terminal (see README, 'Run it on Discord').\n")
    return cmd_chat(argparse.Namespace(index=None, story=None), settings)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from ..runner import run_bot

    return run_bot(settings)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="newsroom-bot",
        description="Answer readers' questions about your stories with verbatim, attributed quotes.",
        epilog="Settings come from the environment and .env (see .env.example). Start with: newsroom-bot build",
    )
    p.add_argument("--debug", action="store_true", help="show the Python traceback of an unexpected error")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser(
        "build",
        help="(re)build the index from the story files",
        description="Embed new or changed stories and swap the new index in atomically. Unchanged stories are reused.",
    )
    b.add_argument("--content", type=Path, help="story folder (default: CONTENT_DIR or ./content)")
    b.add_argument("--index", type=Path, help="index folder (default: INDEX_DIR or ./data/index)")
    b.add_argument("--force", action="store_true", help="embed every story again")
    b.set_defaults(func=cmd_build)

    a = sub.add_parser(
        "ask",
        help="answer a question with quotes",
        description="Answer with verbatim quotes, or say the story does not cover it.",
    )
    a.add_argument("question", nargs="*", help="the question (quote it in the shell)")
    a.add_argument("--story", help="only this story (slug; see `stories`)")
    a.add_argument("--json", action="store_true", help="print the Answer as JSON")
    a.add_argument(
        "--batch",
        metavar="FILE",
        help='JSONL of {"question": ..., "story": optional}; - for stdin. Prints one JSON answer per line, in order. '
        'A bad line gets {"line": N, "status": "error", "error": "..."} in its place (and FILE:N on stderr); '
        "every good line is still answered, and the exit code is 1 if any line was bad",
    )
    a.add_argument("--index", type=Path, help="index folder")
    a.set_defaults(func=cmd_ask)

    s = sub.add_parser(
        "summary",
        help="extractive summary of a story",
        description="The story's most central "
        "sentences, verbatim and in story order, with paragraph numbers and sources.",
    )
    s.add_argument("--story", help="story slug (needed when several are indexed)")
    s.add_argument("--sentences", type=int, default=3, help="how many sentences (default 3)")
    s.add_argument("--json", action="store_true", help="print the Summary as JSON")
    s.add_argument("--index", type=Path, help="index folder")
    s.set_defaults(func=cmd_summary)

    st = sub.add_parser("stories", help="list the indexed stories")
    st.add_argument("--json", action="store_true")
    st.add_argument("--index", type=Path, help="index folder")
    st.set_defaults(func=cmd_stories)

    c = sub.add_parser("chat", help="ask questions at a prompt in the terminal")
    c.add_argument("--story", help="only this story")
    c.add_argument("--index", type=Path, help="index folder")
    c.set_defaults(func=cmd_chat)

    r = sub.add_parser(
        "report",
        help="what readers asked: Markdown and a PNG chart for editors",
        description="Unanswered questions grouped by meaning, the most asked, the helpful rate (👍 / (👍 + 👎)), "
        "counts per story and per day, from the question log.",
    )
    r.add_argument("--since", type=float, default=7.0, metavar="DAYS", help="the last DAYS days (default 7)")
    r.add_argument("--story", help="only questions about this story (slug)")
    r.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR", help="output folder (default reports/)")
    r.add_argument("--log", type=Path, help="question log file (default: QUESTION_LOG_PATH)")
    r.add_argument("--index", type=Path, help="index folder, for story titles and paragraph checks")
    r.set_defaults(func=cmd_report)

    sub.add_parser("start", help="build if needed, then run on Discord (token set) or chat").set_defaults(
        func=cmd_start
    )
    sub.add_parser("run", help="run the Discord bot (needs DISCORD_TOKEN)").set_defaults(func=cmd_run)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        for what in ("question", "story"):
            value = getattr(args, what, None)
            check_text(" ".join(value) if isinstance(value, list) else value, f"the {what}")
        settings = load_settings()
        return int(args.func(args, settings))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `newsroom-bot stories | head -1`: the reader left, nothing to say
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (Python would complain again flushing the closed pipe)
        return EXIT_ERROR
    except Exception as exc:
        if args.debug:
            raise
        message, code = explain(exc)
        print(f"error: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
