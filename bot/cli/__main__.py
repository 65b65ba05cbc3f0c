"""`python -m bot.cli`: the `newsroom-bot` command."""

import sys

from .commands import main

sys.exit(main())
