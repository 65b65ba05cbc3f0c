"""A small fake Discord on 127.0.0.1 for protocol, load and fault tests: real HTTP and a real websocket gateway.

The real discord.py client talks to it over loopback exactly as it talks to Discord: REST under `/api/v10`
(JSON answered with `Content-Type: application/json` exactly, as discord.py requires) and a gateway that says
HELLO, takes IDENTIFY (or RESUME), sends READY and GUILD_CREATE, and ACKs heartbeats. Everything is recorded.

    async with FakeDiscord() as fake:
        fake.install(monkeypatch)                       # Route.BASE and DEFAULT_GATEWAY point here
        task = asyncio.create_task(bot.start(fake.token))
        await fake.wait_for_frame(op=2)                 # IDENTIFY
        await fake.dispatch("MESSAGE_CREATE", fake.message_payload(f"<@{fake.bot_id}> hi", mentions=[fake.bot_user]))
        sent = await fake.wait_for_request("POST", f"/channels/{fake.channel_id}/messages")

API
- `requests`: list of `Request(method, path, query, json, at)`; `path` has no `/api/v10` prefix.
- `frames`: list of `Frame(direction, op, t, s, d, at)`; direction "in" = from the bot, "out" = to it.
- `wait_for_request(method, path, after=0)` / `wait_for_frame(op, t=None, direction="in", after=0)`: the first
  match at index >= `after` (pass `len(fake.requests)` to wait for a new one); bounded by `timeout`.
- `dispatch(event, data)`: send a DISPATCH (op 0) with the next sequence number.
- Payload builders: `user_payload`, `message_payload`, `interaction_payload(name, options)`; ids from `snowflake()`.
- Shards: each gateway connection's IDENTIFY names its `[shard_id, shard_count]`; READY echoes it and lists only
  the guilds Discord would route to that shard (`(guild_id >> 22) % shard_count`), and `dispatch` sends an event
  carrying a `guild_id` on that guild's shard. `add_guild(shard=(id, count))` adds a guild (with its own #general)
  that lands on a given shard; `shards` maps each identified shard id to its connection.
- Faults: `fail(method, path_glob, status=500, times=1, retry_after=None, code=0)` answers the next matching calls
  with that status and JSON error code (429 carries Discord's JSON `retry_after` and headers); `answered(method,
  glob, status=200)` lists what the fake answered with a status; `await close_gateway(code)` drops the
  websocket mid-stream (the client reconnects and RESUMEs: the events it missed are replayed, then RESUMED;
  `missed` counts events dispatched while it was down); `ack_heartbeats = False`
  stops ACKs (a zombie connection). `identify_count` and `resume_count` count sessions.
- Discord's embed url rule: an embed `url` that is not http(s) with a host (or an image/icon url that is not
  http(s)/attachment) gets 400 with code 50035 "Invalid Form Body", as from Discord.
- Bounded: every wait has a timeout, and the server shuts itself down after `lifetime` seconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fnmatch
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import discord
import yarl
from aiohttp import WSMsgType, web

JSON = "application/json"
EVERYTHING = str(discord.Permissions.all().value)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    at: float = field(default_factory=time.monotonic)
    status: int | None = None  # what the fake answered (set once answered)


@dataclass
class Frame:
    direction: str
    op: int
    t: str | None
    s: int | None
    d: Any
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    method: str
    pattern: str
    status: int
    times: int
    retry_after: float | None
    code: int = 0  # Discord's JSON error code, e.g. 10062 Unknown interaction


class FakeDiscord:
    def __init__(
        self, *, token: str = "fake-token", heartbeat_interval_ms: int = 1000, lifetime: float = 120.0, port: int = 0
    ):
        self.token = token
        self.port = port  # 0: any free port; a fixed one lets a bot be pointed here before the fake starts
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.lifetime = lifetime
        self._ids = itertools.count(1_200_000_000_000_000_000)
        self.application_id = self.snowflake()
        self.bot_id = self.application_id
        self.guild_id = self.snowflake()
        self.channel_id = self.snowflake()
        self.reader_id = self.snowflake()
        self.bot_user = self.user_payload(self.bot_id, "NewsroomBot", bot=True)
        self.reader = self.user_payload(self.reader_id, "alice")
        self.guilds: dict[int, int] = {self.guild_id: self.channel_id}  # guild id -> its one text channel
        self.shards: dict[int, web.WebSocketResponse] = {}  # shard id -> its gateway connection, from IDENTIFY
        self.shard_count = 1
        self._session_shards: dict[str, int] = {}
        self.requests: list[Request] = []
        self.frames: list[Frame] = []
        self.faults: list[Fault] = []
        self.ack_heartbeats = True
        self.identify_count = 0
        self.resume_count = 0
        self.missed = 0  # events dispatched while the gateway was down (replayed on RESUME)
        self._history: list[dict[str, Any]] = []
        self._live = False  # a session (READY or RESUMED) is running on the current socket
        self.http_url = ""
        self.ws_url = ""
        self._sequence = 0
        self._ws: web.WebSocketResponse | None = None
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._deadline: asyncio.TimerHandle | None = None

    # ----------------------------------------------------------------- lifecycle
    async def __aenter__(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.http_url, self.ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/gateway"
        self._deadline = asyncio.get_running_loop().call_later(
            self.lifetime, lambda: asyncio.ensure_future(self.stop())
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        for ws in {self._ws, *self.shards.values()}:
            if ws is not None and not ws.closed:
                await ws.close(code=1000)
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    def install(self, monkeypatch: Any) -> None:
        """Point discord.py's REST base and gateway at this server for the rest of the test."""
        monkeypatch.setattr(discord.http.Route, "BASE", f"{self.http_url}/api/v10")
        monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(self.ws_url))

    # ----------------------------------------------------------------- payloads
    def snowflake(self) -> int:
        return next(self._ids)

    @staticmethod
    def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
        return {"id": str(user_id), "username": name, "global_name": name, "discriminator": "0", "avatar": None,
                "bot": bot, "public_flags": 0}  # fmt: skip

    def member_payload(self, user: dict[str, Any], permissions: str | None = None) -> dict[str, Any]:
        member = {"user": user, "roles": [], "joined_at": _now(), "deaf": False, "mute": False, "flags": 0}
        return member | ({"permissions": permissions} if permissions is not None else {})

    def add_guild(self, *, shard: tuple[int, int] = (0, 1)) -> tuple[int, int]:
        """A new guild with one text channel, its id chosen so Discord routes it to shard `(id, count)`."""
        shard_id, count = shard
        guild_id = self.snowflake()
        while (guild_id >> 22) % count != shard_id:
            guild_id += 1 << 22
        self.guilds[guild_id] = self.snowflake()
        return guild_id, self.guilds[guild_id]

    def channel_payload(self, guild_id: int | None = None) -> dict[str, Any]:
        guild_id = guild_id or self.guild_id
        return {"id": str(self.guilds[guild_id]), "type": 0, "guild_id": str(guild_id), "name": "general",
                "position": 0, "permission_overwrites": [], "nsfw": False, "topic": None, "parent_id": None}  # fmt: skip

    def guild_payload(self, guild_id: int | None = None) -> dict[str, Any]:
        guild_id = guild_id or self.guild_id
        everyone = {"id": str(guild_id), "name": "@everyone", "permissions": str(discord.Permissions.general().value),
                    "position": 0, "color": 0, "hoist": False, "managed": False, "mentionable": False, "flags": 0}  # fmt: skip
        return {
            "id": str(guild_id), "name": "Newsroom", "icon": None, "owner_id": str(self.reader_id),
            "roles": [everyone], "channels": [self.channel_payload(guild_id)], "threads": [], "emojis": [], "stickers": [],
            "members": [self.member_payload(self.bot_user)], "presences": [], "voice_states": [], "features": [],
            "member_count": 2, "large": False, "unavailable": False, "joined_at": _now(), "stage_instances": [],
            "guild_scheduled_events": [], "soundboard_sounds": [], "premium_tier": 0, "preferred_locale": "en-US",
            "verification_level": 0, "default_message_notifications": 0, "explicit_content_filter": 0, "mfa_level": 0,
            "nsfw_level": 0, "system_channel_flags": 0,
        }  # fmt: skip

    def message_payload(
        self,
        content: str,
        *,
        author: dict[str, Any] | None = None,
        channel_id: int | None = None,
        mentions: list[dict[str, Any]] | tuple[()] = (),
        message_id: int | None = None,
        guild_id: int | None = None,
    ) -> dict[str, Any]:
        """A message in `guild_id` (default: the first guild), in its channel unless `channel_id` is given."""
        author = author or self.reader
        guild_id = guild_id or self.guild_id
        return {
            "id": str(message_id or self.snowflake()), "channel_id": str(channel_id or self.guilds[guild_id]),
            "guild_id": str(guild_id), "author": author, "member": {k: v for k, v in self.member_payload(author).items() if k != "user"},
            "content": content, "timestamp": _now(), "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": list(mentions), "mention_roles": [], "attachments": [],
            "embeds": [], "pinned": False, "type": 0, "flags": 0, "components": [],
        }  # fmt: skip

    def interaction_payload(
        self, name: str, options: dict[str, Any], *, command_type: int = 1, user: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        user = user or self.reader
        data: dict[str, Any] = {"id": str(self.snowflake()), "name": name, "type": command_type}
        if options:
            data["options"] = [{"name": k, "type": _option_type(v), "value": v} for k, v in options.items()]
        interaction_id = self.snowflake()
        return {
            "id": str(interaction_id), "application_id": str(self.application_id), "type": 2, "data": data,
            "guild_id": str(self.guild_id), "channel_id": str(self.channel_id), "channel": self.channel_payload(),
            "member": self.member_payload(user, permissions=str(discord.Permissions.general().value)),
            "token": f"interaction-token-{interaction_id}", "version": 1, "app_permissions": EVERYTHING,
            "locale": "en-US", "guild_locale": "en-US", "entitlements": [], "authorizing_integration_owners": {},
            "context": 0, "attachment_size_limit": 10 * 1024 * 1024,
        }  # fmt: skip

    # ----------------------------------------------------------------- faults and control
    def fail(
        self,
        method: str,
        path_glob: str,
        *,
        status: int = 500,
        times: int = 1,
        retry_after: float | None = None,
        code: int = 0,
    ) -> None:
        self.faults.append(Fault(method.upper(), path_glob, status, times, retry_after, code))

    def answered(self, method: str, path_glob: str, status: int = 200) -> list[Request]:
        """Requests matching `method` and `path_glob` that the fake answered with `status`."""
        return [
            r
            for r in self.requests
            if r.method == method and r.status == status and fnmatch.fnmatchcase(r.path, path_glob)
        ]

    async def close_gateway(self, code: int = 4000) -> None:
        self._live = False  # from now on events wait for the client's RESUME, as on Discord
        if self._ws is not None and not self._ws.closed:
            await self._ws.close(code=code, message=b"fake discord: closed on request")

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send an event; while the gateway is down it is kept and replayed on RESUME, as Discord does.

        With several shards connected, an event of a guild goes on that guild's shard (not replayed on RESUME)."""
        self._sequence += 1
        payload = {"op": 0, "t": event, "s": self._sequence, "d": data}
        self._history.append(payload)
        if len(self.shards) > 1 and isinstance(data, dict) and "guild_id" in data:
            ws = self.shards.get((int(data["guild_id"]) >> 22) % self.shard_count)
            try:
                await self._send(payload, ws)
            except (ConnectionError, RuntimeError):
                self.missed += 1  # that shard is not connected
            return
        if not self._live:
            self.missed += 1  # no session on the wire: the client gets it when it resumes
            return
        try:
            await self._send(payload)
        except (ConnectionError, RuntimeError):
            self.missed += 1  # the socket is closing

    # ----------------------------------------------------------------- waiting
    async def wait_for_request(self, method: str, path: str, *, after: int = 0, timeout: float = 30.0) -> Request:
        def find() -> Request | None:
            return next((r for r in self.requests[after:] if r.method == method and r.path == path), None)

        return await self._wait(find, timeout, f"{method} {path}")

    async def wait_for_frame(
        self, op: int, t: str | None = None, *, direction: str = "in", after: int = 0, timeout: float = 30.0
    ) -> Frame:
        def find() -> Frame | None:
            return next(
                (f for f in self.frames[after:] if f.op == op and f.direction == direction and (t is None or f.t == t)),
                None,
            )

        return await self._wait(find, timeout, f"frame op={op} t={t} {direction}")

    async def _wait(self, find: Any, timeout: float, what: str) -> Any:
        async def poll() -> Any:
            async with self._changed:
                while (found := find()) is None:
                    await self._changed.wait()
                return found

        try:
            return await asyncio.wait_for(poll(), timeout)
        except TimeoutError:
            seen = "\n  ".join(f"{r.method} {r.path}" for r in self.requests[-15:])
            raise AssertionError(f"fake Discord: no {what} within {timeout} s; last requests:\n  {seen}") from None

    async def _record(self, item: Request | Frame) -> None:
        async with self._changed:
            (self.requests if isinstance(item, Request) else self.frames).append(item)  # type: ignore[arg-type]
            self._changed.notify_all()

    # ----------------------------------------------------------------- gateway
    async def _send(self, payload: dict[str, Any], ws: web.WebSocketResponse | None = None) -> None:
        """Send on `ws`, by default the latest gateway connection."""
        ws = ws or self._ws
        if ws is None or ws.closed:
            raise ConnectionError("fake Discord: no gateway connection")
        await self._record(Frame("out", payload["op"], payload.get("t"), payload.get("s"), payload.get("d")))
        await ws.send_str(json.dumps(payload))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None, max_msg_size=1 << 22)
        await ws.prepare(request)
        self._ws, self._live = ws, False
        await self._send({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}, ws)
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                break
            payload = json.loads(msg.data)
            op, data = payload.get("op"), payload.get("d")
            await self._record(Frame("in", op, payload.get("t"), payload.get("s"), data))
            if op == 1 and self.ack_heartbeats:
                await self._send({"op": 11}, ws)
            elif op == 2:
                self.identify_count += 1
                shard_id, self.shard_count = data.get("shard") or (0, 1)
                self.shards[shard_id] = ws
                self._session_shards[f"session-{self.identify_count}"] = shard_id
                await self._ready(ws, shard_id)
            elif op == 6:
                self.resume_count += 1
                if data.get("session_id") in self._session_shards:  # the shard resumes on this new connection
                    self.shards[self._session_shards[data["session_id"]]] = ws
                seq = data.get("seq") or 0
                i = next((k for k, p in enumerate(self._history) if p["s"] > seq), len(self._history))
                while i < len(self._history):  # what the client did not see, in order, including any added meanwhile
                    await self._send(self._history[i], ws)
                    i += 1
                self._live = True
                await self.dispatch("RESUMED", {})
        return ws

    async def _ready(self, ws: web.WebSocketResponse, shard_id: int) -> None:
        """READY and a GUILD_CREATE for each guild on this connection's shard, sent on this connection."""
        self._live = True
        guilds = [g for g in self.guilds if (g >> 22) % self.shard_count == shard_id]
        events = [("READY", {
            "v": 10, "user": self.bot_user, "guilds": [{"id": str(g), "unavailable": True} for g in guilds],
            "session_id": f"session-{self.identify_count}", "resume_gateway_url": self.ws_url,
            "shard": [shard_id, self.shard_count], "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [], "relationships": [], "user_settings": {},
        })] + [("GUILD_CREATE", self.guild_payload(g)) for g in guilds]  # fmt: skip
        for event, data in events:
            self._sequence += 1
            payload = {"op": 0, "t": event, "s": self._sequence, "d": data}
            self._history.append(payload)
            await self._send(payload, ws)

    # ----------------------------------------------------------------- REST
    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body = await request.text()
        record = Request(request.method, path, dict(request.query), json.loads(body) if body else None)
        await self._record(record)
        if request.headers.get("Authorization") not in (f"Bot {self.token}", None):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        fault = next((f for f in self.faults if f.times > 0 and f.method == request.method
                      and fnmatch.fnmatchcase(path, f.pattern)), None)  # fmt: skip
        if fault is not None:
            fault.times -= 1
            response = _fault(fault)
        elif invalid := _invalid_embeds(record.json):
            response = _json({"message": "Invalid Form Body", "code": 50035, "errors": invalid}, 400)
        else:
            response = await self._route(request.method, path, record.json)
        record.status = response.status
        return response

    async def _route(self, method: str, path: str, payload: Any) -> web.Response:
        parts = path.strip("/").split("/")
        if method == "GET" and path == "/users/@me":
            return _json(self.bot_user)
        if method == "GET" and path == "/oauth2/applications/@me":
            return _json(self._application())
        if method == "GET" and path in ("/gateway", "/gateway/bot"):
            limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
            return _json({"url": self.ws_url, "shards": 1, "session_start_limit": limit})
        if method == "PUT" and parts[0] == "applications" and parts[-1] == "commands":
            return _json([self._command(c) for c in payload or []])
        if method == "POST" and parts[0] == "channels" and parts[-1] == "typing":
            return web.Response(status=204)
        if method == "POST" and parts[0] == "channels" and parts[-1] == "messages":
            return _json(await self._bot_message(payload, int(parts[1]), echo=True))
        if method == "POST" and parts[0] == "interactions" and parts[-1] == "callback":
            return _json(self._callback(int(parts[1]), payload))
        if parts[0] == "webhooks" and method in ("POST", "PATCH", "GET"):
            return _json(await self._bot_message(payload or {}, self.channel_id, echo=False))
        return _json({"message": f"fake Discord: no route for {method} {path}", "code": 0}, 404)

    def _application(self) -> dict[str, Any]:
        return {"id": str(self.application_id), "name": "NewsroomBot", "icon": None, "description": "",
                "bot_public": True, "bot_require_code_grant": False, "owner": self.reader, "team": None,
                "verify_key": "0" * 64, "flags": 0, "bot": self.bot_user}  # fmt: skip

    def _command(self, command: dict[str, Any]) -> dict[str, Any]:
        return {"id": str(self.snowflake()), "application_id": str(self.application_id), "version": "1",
                "description": "", "options": [], "default_member_permissions": None, "nsfw": False} | command  # fmt: skip

    async def _bot_message(self, payload: dict[str, Any], channel_id: int, *, echo: bool) -> dict[str, Any]:
        message = self.message_payload(payload.get("content") or "", author=self.bot_user, channel_id=channel_id)
        message["embeds"] = payload.get("embeds") or []
        if payload.get("message_reference"):
            message["message_reference"] = payload["message_reference"]
        if echo and self._ws is not None and not self._ws.closed:
            await self.dispatch("MESSAGE_CREATE", message)  # Discord tells the bot about its own messages too
        return message

    def _callback(self, interaction_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        data = payload.get("data") or {}
        ephemeral = bool(data.get("flags", 0) & 64)
        interaction = {"id": str(interaction_id), "type": 2, "response_message_loading": payload["type"] == 5,
                       "response_message_ephemeral": ephemeral}  # fmt: skip
        resource: dict[str, Any] = {"type": payload["type"]}
        if payload["type"] == 4:
            message = self.message_payload(data.get("content") or "", author=self.bot_user)
            resource["message"] = message | {"embeds": data.get("embeds") or [], "flags": data.get("flags", 0)}
        return {"interaction": interaction, "resource": resource}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _option_type(value: Any) -> int:
    return 5 if isinstance(value, bool) else 4 if isinstance(value, int) else 10 if isinstance(value, float) else 3


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Not web.json_response: it says "application/json; charset=utf-8" and discord.py compares the header exactly.
    return web.Response(
        status=status, body=json.dumps(data).encode(), headers={"Content-Type": JSON, **(headers or {})}
    )


_EMBED_URLS = (("url",), ("author", "url"), ("author", "icon_url"), ("footer", "icon_url"), ("image", "url"),
               ("thumbnail", "url"))  # fmt: skip


def embed_url_errors(embed: Any) -> list[tuple[tuple[str, ...], str]]:
    """Discord's rule for embed urls: http or https with a host (image and icon urls may also be attachment://);
    anything else is refused with 50035. (path in the embed, Discord's message) for each bad url."""
    errors: list[tuple[tuple[str, ...], str]] = []
    for path in _EMBED_URLS:
        value: Any = embed
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            continue
        scheme, host = _scheme_and_host(str(value))
        schemes = ("http", "https") if path == ("url",) else ("http", "https", "attachment")
        if scheme and scheme not in schemes:
            errors.append((path, f'Scheme "{scheme}" is not supported. Scheme must be one of {schemes}.'))
        elif scheme not in schemes or not host:
            errors.append((path, "Not a well formed URL."))
    return errors


def _invalid_embeds(payload: Any) -> dict[str, Any]:
    """Discord's 50035 `errors` object for a message whose embeds break `embed_url_errors`; {} when none does."""
    if not isinstance(payload, dict):
        return {}
    where: tuple[str, ...] = ("embeds",)
    embeds = payload.get("embeds")
    if embeds is None and isinstance(payload.get("data"), dict):  # an interaction callback carries its message
        where, embeds = ("data", "embeds"), payload["data"].get("embeds")
    errors: dict[str, Any] = {}
    for i, embed in enumerate(embeds or []):
        for path, message in embed_url_errors(embed):
            node = errors.setdefault(str(i), {})
            for key in path:
                node = node.setdefault(key, {})
            node["_errors"] = [{"code": "URL_TYPE_INVALID_URL", "message": message}]
    for key in reversed(where if errors else ()):
        errors = {key: errors}
    return errors


def _scheme_and_host(url: str) -> tuple[str, str]:
    if any(c.isspace() for c in url):
        return "", ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "", ""
    return parts.scheme.lower(), parts.netloc


def _fault(fault: Fault) -> web.Response:
    if fault.status == 429:
        after = fault.retry_after if fault.retry_after is not None else 0.05
        headers = {"Via": "1.1 google", "Retry-After": str(after), "X-RateLimit-Scope": "user", "X-RateLimit-Limit": "5",
                   "X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": str(after), "X-RateLimit-Bucket": "fake"}  # fmt: skip
        return _json({"message": "You are being rate limited.", "retry_after": after, "global": False}, 429, headers)
    return _json({"message": f"fake Discord: injected {fault.status}", "code": fault.code}, fault.status)
