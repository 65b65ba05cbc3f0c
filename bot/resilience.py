"""Getting replies out when Discord misbehaves.

- `typing`: the "typing…" indicator, whose failure never costs an answer.
- `deliver`: discord.py already retries a 429 (after retry_after) and a 5xx a few times; when a send still fails
  with a retryable status, try again a little later before giving up with one clear log line (no traceback).
- `defer`/`send_to_interaction`: an interaction whose token has expired (10062 Unknown interaction, 10015 Unknown
  webhook, 401) can no longer carry the answer, so a public answer goes to the channel instead; a private
  (ephemeral) one is dropped, since posting it publicly would reveal it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import discord

log = logging.getLogger("newsroom.bot")
T = TypeVar("T")
EXPIRED_CODES = {10062, 10015}  # Unknown interaction, Unknown webhook
BACKOFF = (1.0, 3.0)  # rounds on top of discord.py's own retries (5 tries each, after retry_after or 1-7 s)


@contextlib.asynccontextmanager
async def typing(channel: discord.abc.Messageable) -> AsyncIterator[None]:
    """Discord's "typing…" while the answer is worked out: cosmetic, so failing to show it never stops the answer."""
    indicator = channel.typing()
    try:
        await indicator.__aenter__()
    except discord.HTTPException as exc:
        log.info("no typing indicator (%s); answering anyway", exc.status)
        yield
        return
    try:
        yield
    finally:
        await indicator.__aexit__(None, None, None)


def retryable(exc: BaseException) -> bool:
    return isinstance(exc, discord.HTTPException) and (exc.status == 429 or exc.status >= 500)


def expired(exc: BaseException) -> bool:
    """The interaction can no longer be answered through its token."""
    return isinstance(exc, discord.HTTPException) and (exc.code in EXPIRED_CODES or exc.status == 401)


async def deliver(
    send: Callable[[], Awaitable[T]],
    what: str,
    *,
    passthrough: Callable[[BaseException], bool] = lambda exc: False,
    backoff: Sequence[float] = BACKOFF,
) -> T | None:
    """`await send()`, retried after 429/5xx failures; None (logged once) when it could not be delivered.

    Errors for which `passthrough` is true are raised for the caller to handle.
    """
    for attempt, pause in enumerate([*backoff, None]):
        try:
            return await send()
        except discord.HTTPException as exc:
            if passthrough(exc):
                raise
            if not retryable(exc) or pause is None:
                log.error("could not deliver %s: %s %s (%s)", what, exc.status, exc.text or "", type(exc).__name__)
                return None
            log.warning("retrying %s in %.1f s after %s (attempt %d)", what, pause, exc.status, attempt + 1)
            await asyncio.sleep(pause)
    return None  # pragma: no cover - the loop always returns


async def defer(interaction: discord.Interaction, *, ephemeral: bool = False) -> bool:
    """Acknowledge within Discord's 3 seconds; False when the interaction had already expired."""
    try:
        await interaction.response.defer(thinking=True, ephemeral=ephemeral)
    except discord.HTTPException as exc:
        if not expired(exc):
            raise
        log.warning("interaction %s expired before it was acknowledged (%s)", interaction.id, exc.code or exc.status)
        return False
    return True


async def send_to_interaction(
    interaction: discord.Interaction, kwargs: Sequence[dict[str, Any]], *, ephemeral: bool = False
) -> None:
    """Follow up with each message; if the token expired, post public answers to the channel instead."""
    what = f"the answer to interaction {interaction.id}"
    for i, message in enumerate(kwargs):
        try:
            await deliver(
                functools.partial(interaction.followup.send, **message, ephemeral=ephemeral),
                what,
                passthrough=expired,
            )
        except discord.HTTPException as exc:
            log.warning("interaction %s expired (%s)", interaction.id, exc.code or exc.status)
            if not ephemeral:  # a private answer must not be posted publicly
                await to_channel(interaction.channel, kwargs[i:], what)
            return


async def to_channel(channel: object, kwargs: Sequence[dict[str, Any]], what: str) -> None:
    """Post messages straight to a channel (the fallback when an interaction expired)."""
    if not isinstance(channel, discord.abc.Messageable):
        log.error("could not deliver %s: its interaction expired and its channel is unknown", what)
        return
    for message in kwargs:
        if await deliver(functools.partial(channel.send, **message), what) is None:
            return
