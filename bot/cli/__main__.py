"""`python -m bot.cli`: the `newsroom-bot` command."""

from .entry import run

run()
