"""The `newsroom-bot` process: parse the command line, run the command, and end every failure in one line.

Click parses and prints help and usage errors; whatever a command raises is turned into `error: <what to do>`
and an exit code by `failures.explain`, so no ordinary mistake ends in a traceback (`--debug` shows one).
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

import click

from .commands import Services, cli
from .failures import EXIT_ERROR, explain


def main(argv: Sequence[str] | None = None, *, services: Services | None = None) -> int:
    """Run `newsroom-bot` with `argv` (default: the process's); `services` replaces what the commands open."""
    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    debug = False
    try:
        with cli.make_context("newsroom-bot", args, obj=services or Services()) as ctx:
            debug = bool(ctx.params.get("debug"))
            return int(cli.invoke(ctx) or 0)
    except click.exceptions.Exit as exc:  # --help
        return exc.exit_code
    except click.ClickException as exc:  # a usage error: Click's own message and exit code 2
        exc.show()
        return exc.exit_code
    except (KeyboardInterrupt, click.Abort):
        return 130
    except BrokenPipeError:  # `newsroom-bot stories | head -1`: the reader left, nothing to say
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (Python would complain again flushing the closed pipe)
        return EXIT_ERROR
    except Exception as exc:
        if debug:
            raise
        message, code = explain(exc)
        print(f"error: {message}", file=sys.stderr)
        return code


def run() -> NoReturn:
    """The `newsroom-bot` process: `main()`, then an exit that doesn't take the interpreter apart.

    Python's own exit frees every module and object one at a time (numpy, pydantic's schemas, onnxruntime, FAISS):
    0.1-0.3 s of every command here, as long as answering a hundred questions. Once main has returned and no other
    thread is alive, what is left is the atexit handlers (logging's flush among them) and the standard streams;
    then the process ends and the system frees its memory at once. With another thread alive, or a stream that
    can't be flushed, Python's own exit takes over, as it always did (it waits for the thread, reports the stream).
    """
    code = main()
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)
