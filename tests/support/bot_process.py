"""The real `newsroom-bot run` in an OS process of its own, talking to a fake Discord instead of discord.com.

    python -m tests.support.bot_process HTTP_URL WS_URL [newsroom-bot command ...]    # default command: run

Settings come from the environment, as in production (SHARD_COUNT, SHARD_IDS, INDEX_DIR, ...). The one change is
where discord.py's REST base and gateway point, which in-process tests do with `FakeDiscord.install`. Used by the
multi-process shard test and by `benchmarks.perf_shards` (memory of processes sharing one index).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


async def spawn(
    http_url: str,
    ws_url: str,
    env: Mapping[str, str],
    *,
    log: Path,
    cwd: Path,
    launcher: Sequence[str] = ("-m", "tests.support.bot_process"),
) -> asyncio.subprocess.Process:
    """Start `newsroom-bot run` with `env` added to this process's environment (minus any DISCORD_/SHARD_ settings
    of its own); its log goes to `log`. Run from `cwd` so no `.env` of the developer's is read. `launcher` is
    the Python command line before the URLs (a benchmark's own, which then calls `main`)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SHARD_"))}
    child_env = base | {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"} | dict(env)
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, *launcher, http_url, ws_url,
            cwd=cwd, env=child_env, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
        )  # fmt: skip


async def stop(process: asyncio.subprocess.Process, timeout: float = 30.0) -> int:
    """SIGTERM (the bot's graceful shutdown), then SIGKILL if it has not exited within `timeout` s."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        process.kill()
        return await process.wait()


def main(argv: list[str]) -> int:
    http_url, ws_url, *command = argv
    import discord
    import yarl

    from bot import cli

    discord.http.Route.BASE = f"{http_url}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(ws_url)
    return cli.main(command or ["run"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
