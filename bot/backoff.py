"""Growing pauses between tries, for whatever the bot waits on: Discord at start (`reach`), PostgreSQL at start
(`runner.wait_for_database`) and while the question log's writer reconnects. Imports nothing heavy."""

from __future__ import annotations

import random
from collections.abc import Callable


def delays(first: float, cap: float) -> Callable[[], float]:
    """Pauses that double from `first` up to `cap`, with ±10 % jitter so many bots don't retry in step."""
    state = {"next": first}

    def following() -> float:
        delay = state["next"]
        state["next"] = min(cap, delay * 2)
        return delay * random.uniform(0.9, 1.1)

    return following
