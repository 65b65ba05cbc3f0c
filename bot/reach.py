"""Waiting for Discord at start-up: a server that boots before its network (or DNS) is up gets a retry, not a crash.

Once connected, discord.py reconnects by itself; before the first login it does not: `login()` fails at once with
aiohttp's ClientConnectorDNSError and two chained tracebacks. So `newsroom-bot run` first asks Discord's REST API
whether it is there (any HTTP answer will do), logging one line per failed try with the reason, and tries again
after a growing pause capped at `MAX_DELAY`, until Discord answers or the bot is told to stop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import aiohttp
import discord

from .backoff import delays

__all__ = ["delays", "unreachable_reason", "wait_until_reachable"]

log = logging.getLogger(__name__)

FIRST_DELAY = 1.0  # seconds before the second try; doubled each time
MAX_DELAY = 60.0  # a pause never grows past this (a server that lost its network for an hour retries each minute)
PROBE_TIMEOUT = 15.0


def unreachable_reason(exc: BaseException) -> str:
    """Why Discord could not be reached, in words an operator can act on."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"the name {exc.host} does not resolve (DNS or network down?)"
    if isinstance(exc, aiohttp.ClientConnectorError):
        why = (
            "connection refused"
            if isinstance(exc.os_error, ConnectionRefusedError)
            else exc.os_error.strerror or str(exc.os_error) or type(exc.os_error).__name__
        )
        return f"cannot connect to {exc.host}:{exc.port}: {why}"
    if isinstance(exc, TimeoutError):
        return f"no answer within {PROBE_TIMEOUT:.0f} s"
    return str(exc) or type(exc).__name__


async def wait_until_reachable(
    stopped: Callable[[], bool], *, first: float = FIRST_DELAY, cap: float = MAX_DELAY
) -> bool:
    """True once Discord's REST API answers; False if `stopped()` turns true first (SIGTERM while waiting)."""
    url = f"{discord.http.Route.BASE}/gateway"  # unauthenticated: the token is not sent before Discord is there
    pause = delays(first, cap)
    tries = 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT)) as session:
        while not stopped():
            tries += 1
            try:
                async with session.get(url) as response:
                    await response.read()
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                delay = pause()
                log.warning(
                    "Discord can't be reached: %s; trying again in %.3g s (try %d)",
                    unreachable_reason(exc), delay, tries,
                )  # fmt: skip
                await _sleep_unless(stopped, delay)
                continue
            if tries > 1:
                log.info("Discord is reachable again after %d tries; connecting", tries)
            return True
    return False


async def _sleep_unless(stopped: Callable[[], bool], seconds: float) -> None:
    """Sleep, but wake within a tenth of a second of `stopped()` turning true."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while not stopped() and (left := end - loop.time()) > 0:
        await asyncio.sleep(min(0.1, left))
