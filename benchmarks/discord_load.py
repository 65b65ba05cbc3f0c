"""Readers' questions sent through the fake Discord, in the bot's process or from a process of its own.

`ask_all(fake, questions, concurrent=...)` sends each question as a MESSAGE_CREATE from a different reader and
waits for every reply (all at once, or each after the previous reply), timing it and checking the heartbeats.

`RemoteDiscord` runs the fake Discord and this driver in a child process (`python -m benchmarks.discord_load`),
serving on 127.0.0.1, and drives it over the child's stdin/stdout (one JSON object a line). That is the honest
setup for a load figure: Discord's work is not the bot's, and in the bot's process the fake's own Python (HTTP,
websocket, JSON) would take CPU and GIL time from the bot it is measuring. Point the bot at it with `install`.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import discord
import yarl

from tests.support.fake_discord import FakeDiscord

HEARTBEAT_MS = 1000
ROOT = Path(__file__).resolve().parent.parent


class LaggyDiscord(FakeDiscord):
    """The fake Discord answering each REST call after `latency_ms`, as a real API a continent away does
    (Discord's own API typically answers in 30-100 ms). The wait is a sleep: it costs the bot no CPU."""

    def __init__(self, *, latency_ms: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.latency_s = latency_ms / 1000

    async def _rest(self, request: Any) -> Any:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        return await super()._rest(request)


class _Replies:
    """Which of `ids` the bot has replied to, read incrementally from the fake's request log."""

    def __init__(self, fake: FakeDiscord, ids: set[str]) -> None:
        self.fake, self.ids, self.seen, self._next = fake, ids, set[str](), len(fake.requests)

    def update(self) -> set[str]:
        for r in self.fake.requests[self._next :]:
            if r.method == "POST" and r.path.endswith("/messages") and isinstance(r.json, dict):
                reference = (r.json.get("message_reference") or {}).get("message_id")
                if str(reference) in self.ids:
                    self.seen.add(str(reference))
        self._next = len(self.fake.requests)
        return self.seen

    def has(self, message_id: str) -> bool:
        return message_id in self.update()


async def _until(fake: FakeDiscord, check: Callable[[], bool], timeout: float) -> None:
    """Wake on every request the fake records (no polling interval to add to a round trip)."""

    async def wait() -> None:
        async with fake._changed:
            while not check():
                await fake._changed.wait()

    await asyncio.wait_for(wait(), timeout)


async def ask_all(
    fake: FakeDiscord, questions: list[str], *, concurrent: bool, channels: int = 1, timeout: float = 600
) -> dict[str, Any]:
    """Send `questions` (all at once, or each after the last reply) from different readers spread over
    `channels` channels of the guild; seconds, answers and heartbeat gaps."""
    channel_ids = [fake.channel_id] + [fake.snowflake() for _ in range(channels - 1)]
    payloads = [
        fake.message_payload(
            f"<@{fake.bot_id}> {q}",
            author=fake.user_payload(fake.snowflake(), f"reader{i}"),
            channel_id=channel_ids[i % channels],
            mentions=[fake.bot_user],
        )
        for i, q in enumerate(questions)
    ]
    ids = {p["id"] for p in payloads}
    replies = _Replies(fake, ids)
    frames = len(fake.frames)
    started, cpu = time.perf_counter(), time.process_time()
    if concurrent:
        for payload in payloads:
            await fake.dispatch("MESSAGE_CREATE", payload)
        await _until(fake, lambda: len(replies.update()) == len(ids), timeout)
    else:
        for payload in payloads:
            await fake.dispatch("MESSAGE_CREATE", payload)
            await _until(fake, functools.partial(replies.has, payload["id"]), timeout)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await asyncio.sleep(fake.heartbeat_interval_ms / 1000 * 1.2)  # let the heartbeat due during the run arrive
    beats = [f.at for f in fake.frames[frames:] if f.op == 1 and f.direction == "in"]
    gaps = [b - a for a, b in itertools.pairwise(beats)]
    late = sum(gap > fake.heartbeat_interval_ms / 1000 * 1.5 for gap in gaps)
    return {
        "seconds": elapsed,
        "per_second": len(questions) / elapsed,
        "cpu_ms_per_question": cpu * 1000 / len(questions),  # this process's CPU: the fake's (and the bot's if here)
        "answered": len(replies.update()),
        "asked": len(questions),
        "heartbeats": len(beats),
        "late_heartbeats": late,
        "max_heartbeat_gap_s": max(gaps, default=0.0),
    }


class RemoteDiscord:
    """The fake Discord in a child process: `async with RemoteDiscord() as fake: fake.install(patch)`, start the
    bot with `fake.token`, then `await fake.ask_all(...)` (as `ask_all`, run by the child). The child stops when
    this closes, or by itself after `lifetime` seconds."""

    def __init__(self, *, latency_ms: float = 0.0, heartbeat_interval_ms: int = HEARTBEAT_MS, lifetime: float = 1800):
        self.options = ["--latency-ms", str(latency_ms), "--heartbeat-ms", str(heartbeat_interval_ms)]
        self.options += ["--lifetime", str(lifetime)]
        self._child: asyncio.subprocess.Process | None = None
        self.info: dict[str, Any] = {}

    @property
    def token(self) -> str:
        return str(self.info["token"])

    async def __aenter__(self) -> RemoteDiscord:
        self._child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.discord_load", *self.options,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 24,
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        self.info = await self._read()
        return self

    async def __aexit__(self, *exc: object) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        assert child.stdin is not None
        child.stdin.close()  # end of commands: the child stops its server and exits
        try:
            await asyncio.wait_for(child.wait(), 30)
        except TimeoutError:
            child.kill()
            await child.wait()

    def install(self, monkeypatch: Any) -> None:
        """Point discord.py's REST base and gateway at the child's server (as `FakeDiscord.install`)."""
        monkeypatch.setattr(discord.http.Route, "BASE", f"{self.info['http_url']}/api/v10")
        monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(self.info["ws_url"]))

    async def ask_all(self, questions: list[str], **options: Any) -> dict[str, Any]:
        return await self.call("ask_all", questions=questions, **options)

    async def call(self, op: str, **arguments: Any) -> dict[str, Any]:
        """Run one command in the child and return its result (the bot's event loop keeps running meanwhile)."""
        assert self._child is not None and self._child.stdin is not None
        self._child.stdin.write((json.dumps({"op": op, **arguments}) + "\n").encode())
        await self._child.stdin.drain()
        return await self._read()

    async def _read(self) -> dict[str, Any]:
        assert self._child is not None and self._child.stdout is not None
        line = await self._child.stdout.readline()
        if not line:
            raise RuntimeError(f"the fake Discord process exited (code {await self._child.wait()})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"fake Discord process: {reply['error']}")
        return dict(reply["result"])


async def _serve(args: argparse.Namespace) -> None:
    """The child: a fake Discord, and a command loop on stdin (EOF ends it)."""
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    out = sys.stdout

    def say(reply: dict[str, Any]) -> None:
        out.write(json.dumps(reply) + "\n")
        out.flush()

    fake = LaggyDiscord(latency_ms=args.latency_ms, heartbeat_interval_ms=args.heartbeat_ms, lifetime=args.lifetime)
    async with fake:
        say({"result": {"http_url": fake.http_url, "ws_url": fake.ws_url, "token": fake.token}})
        while line := await stdin.readline():
            command = json.loads(line)
            op = command.pop("op")
            try:
                if op == "ask_all":
                    say({"result": await ask_all(fake, command.pop("questions"), **command)})
                elif op == "counts":
                    counts = {"identify": fake.identify_count, "resume": fake.resume_count}
                    say({"result": counts | {"requests": len(fake.requests), "frames": len(fake.frames)}})
                else:
                    say({"error": f"unknown command {op!r}"})
            except Exception as exc:  # the parent hears about it instead of waiting forever
                say({"error": f"{type(exc).__name__}: {exc}"})


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="the fake Discord in a process of its own (see RemoteDiscord)")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--heartbeat-ms", type=int, default=HEARTBEAT_MS)
    p.add_argument("--lifetime", type=float, default=1800.0)
    asyncio.run(_serve(p.parse_args(argv)))


if __name__ == "__main__":
    main()
