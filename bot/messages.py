"""What the bot says to readers when it is not quoting a story: one module to read, review and reword them.

The answers themselves are rendered from the engine's results (bot/render.py); these are the sentences around
them: not ready yet, restarting, slow down, not allowed, something broke.
"""

from __future__ import annotations

import math

# Without a usable index, readers are told to come back; only those who can fix it are told how.
NOT_READY = "I'm not ready to answer yet: my stories aren't loaded. Please try again shortly."
NOT_READY_ADMIN = (
    "I can't answer yet: no stories are indexed here. Run `/reindex` (or `newsroom-bot build` on the server) "
    "and I'll start answering without a restart; the bot's log says what went wrong."
)
RESTARTING = "I'm restarting right now. Please ask again in a minute."
SORRY = "Sorry, something went wrong on my side while answering. Please try again in a moment."
REFUSE_ADMIN = "Sorry, only the newsroom's admins can do that (an admin role or the Manage Server permission)."


def not_ready(admin: bool) -> str:
    """What a reader is told while there is no usable index: how to fix it if they may run `/reindex`."""
    return NOT_READY_ADMIN if admin else NOT_READY


def cooldown_text(retry_after: float) -> str:
    seconds = max(1, math.ceil(retry_after))
    return f"You're asking faster than I can keep up. Please wait {seconds} s and ask again."
