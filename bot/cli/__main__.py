"""`python -m bot.cli`: the `newsroom-bot` command."""

import sys

from .entry import main

sys.exit(main())
