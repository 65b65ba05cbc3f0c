"""The command line face: `newsroom-bot` (build, ask, summary, stories, chat, report, run, start)."""

from .entry import main

__all__ = ["main"]
