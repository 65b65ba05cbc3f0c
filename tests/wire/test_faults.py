"""Discord faults, with the real discord.py client against the fake Discord on 127.0.0.1.

The gateway drops mid-stream, REST answers 429 and 500, interaction tokens expire: the bot survives, retries
what can be retried, and every reply that could be delivered is delivered exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from bot.client import NewsroomBot
from index import Library

from ..support.botkit import connected
from ..support.fake_discord import FakeDiscord

QUESTIONS = [
    "How many White Helmets are still trapped in Syria?",
    "How many lives have the White Helmets saved?",
    "Who evacuated the rescue workers?",
    "Who painted the Mona Lisa?",
    "",
    "@everyone what happened?",
]
SENDS = "/channels/*/messages"
FAULT_TALLY: Counter[str] = Counter()  # faults injected across this module, for the report


def serving(
    fake: FakeDiscord, index_dir: Path, library: Library, **settings: Any
) -> AbstractAsyncContextManager[NewsroomBot]:
    """The real bot connected to `fake`, with no cooldown unless a test asks for one."""
    settings.setdefault("cooldown_questions", 1000)  # the most the settings allow, per 1 ms: no cooldown
    settings.setdefault("cooldown_seconds", 0.001)
    return connected(fake, index_dir, library, **settings)


def _ask(fake: FakeDiscord, text: str, author: dict[str, Any] | None = None) -> dict[str, Any]:
    return fake.message_payload(f"<@{fake.bot_id}> {text}", mentions=[fake.bot_user], author=author)


def _replied_to(fake: FakeDiscord) -> Counter[str]:
    """How many delivered (200) replies each question message got."""
    return Counter(
        str(r.json["message_reference"]["message_id"])
        for r in fake.answered("POST", SENDS)
        if r.json and r.json.get("message_reference")
    )


async def _until(predicate: Any, timeout: float, what: str) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def _inject_rest_faults(fake: FakeDiscord, *, rounds: int, every: int) -> None:
    """Every `every` delivered replies: two 429s and a 500 on sends, a 500 on the typing indicator.

    Spread over the stream as Discord's hiccups are, rather than thirty failures in a row (that is an outage,
    which no retry policy rides out).
    """
    for k in range(rounds):
        await _until(lambda k=k: len(_replied_to(fake)) >= (k + 1) * every, 120, f"{(k + 1) * every} replies")
        fake.fail("POST", SENDS, status=429, times=2, retry_after=0.05)
        fake.fail("POST", SENDS, status=500, times=1)
        fake.fail("POST", "/channels/*/typing", status=500, times=1)


def _check_sent(fake: FakeDiscord) -> None:
    for request in fake.answered("POST", SENDS):
        body = request.json
        assert body["allowed_mentions"] == {"parse": []}, body.get("allowed_mentions")
        assert len(body.get("content") or "") <= 2000
        for embed in body.get("embeds") or []:
            assert len(embed.get("description") or "") <= 4096 and len(embed.get("title") or "") <= 256


async def test_a_thousand_questions_across_a_gateway_drop_and_rest_faults_lose_no_reply(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, built_index: Path, library: Library
) -> None:
    caplog.set_level(logging.WARNING)
    total, drop_at = 1000, 500
    async with FakeDiscord(lifetime=300) as fake:
        fake.install(monkeypatch)
        async with serving(fake, built_index, library, reply_style="plain"):
            chaos = asyncio.create_task(_inject_rest_faults(fake, rounds=10, every=80))
            asked = []
            for n in range(total):
                if n % 25 == 0 and n != drop_at + 1:
                    await asyncio.sleep(0.01)  # a burst, not one giant write
                message = _ask(fake, QUESTIONS[n % len(QUESTIONS)])
                asked.append(message["id"])
                await fake.dispatch("MESSAGE_CREATE", message)
                if n == drop_at:
                    # Resumable: the client reconnects and RESUMEs. The next questions follow at once, before it
                    # can be back, so they are missed and must be replayed on RESUME.
                    await fake.close_gateway(code=4000)
                    FAULT_TALLY["gateway closed mid-stream"] += 1
            await asyncio.wait_for(chaos, 150)
            await _until(lambda: len(_replied_to(fake)) >= total, 150, f"{total} replies")
            await asyncio.sleep(0.3)  # anything extra (a duplicate) would arrive now
            replies = _replied_to(fake)
    lost = [m for m in asked if m not in replies]
    assert not lost, f"{len(lost)} replies lost"
    assert max(replies.values()) == 1, "a question was answered twice"
    assert fake.resume_count >= 1 and fake.identify_count == 1 and fake.missed > 0
    # Faults armed in the last round can outlive the stream when its final replies are already in flight, so the
    # tally counts what the fake really answered; the replies above are what must hold exactly.
    hits = {
        "429 on send": len(fake.answered("POST", SENDS, 429)),
        "500 on send": len(fake.answered("POST", SENDS, 500)),
        "500 on typing": len(fake.answered("POST", "/channels/*/typing", 500)),
    }
    FAULT_TALLY.update(hits)
    assert hits["429 on send"] >= 2 and hits["500 on send"] >= 1, hits
    _check_sent(fake)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def test_expired_interactions_still_deliver_the_answer_in_the_channel(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, built_index: Path, library: Library
) -> None:
    """10062 on the acknowledgement (the 3 s window missed) and 401 on the follow-up (15 min token expired)."""
    caplog.set_level(logging.WARNING)
    async with FakeDiscord() as fake:
        fake.install(monkeypatch)
        async with serving(fake, built_index, library):
            for fault in ("callback-10062", "followup-401"):
                interaction = fake.interaction_payload("ask", {"question": QUESTIONS[0]})
                base = f"/interactions/{interaction['id']}/{interaction['token']}/callback"
                if fault == "callback-10062":
                    fake.fail("POST", base, status=404, code=10062)
                    fake.fail("POST", f"/webhooks/*/{interaction['token']}", status=404, code=10015)
                else:
                    fake.fail("POST", f"/webhooks/*/{interaction['token']}", status=401)
                FAULT_TALLY[f"expired interaction ({fault})"] += 1
                mark = len(fake.requests)
                await fake.dispatch("INTERACTION_CREATE", interaction)
                sent = await fake.wait_for_request("POST", f"/channels/{fake.channel_id}/messages", after=mark)
                assert sent.status == 200 and "300" in sent.json["embeds"][0]["description"]
                assert sent.json["embeds"][0]["title"] == f"“{QUESTIONS[0]}”"  # the channel sees what was asked
                assert sent.json["allowed_mentions"] == {"parse": []}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def test_replies_that_cannot_be_delivered_are_logged_once_and_the_bot_carries_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, built_index: Path, library: Library
) -> None:
    """403 (no permission) is not retried; a 429 that never ends is retried, then given up; the next one gets out."""
    caplog.set_level(logging.WARNING)
    async with FakeDiscord() as fake:
        fake.install(monkeypatch)
        async with serving(fake, built_index, library):
            fake.fail("POST", SENDS, status=403, code=50013)
            fake.fail("POST", SENDS, status=429, times=15, retry_after=0.01)
            FAULT_TALLY.update({"403 on send": 1, "429 on send (persistent)": 15})

            def errors() -> int:
                return sum(r.levelno >= logging.ERROR for r in caplog.records)

            for expected_errors in (1, 2):  # the 403, then the endless 429
                await fake.dispatch("MESSAGE_CREATE", _ask(fake, QUESTIONS[1]))
                await _until(lambda n=expected_errors: errors() >= n, 60, f"{expected_errors} undelivered replies")
            await fake.dispatch("MESSAGE_CREATE", _ask(fake, QUESTIONS[1]))
            await _until(lambda: len(fake.answered("POST", SENDS)) >= 1, 30, "a delivered reply")
            assert len(fake.answered("POST", SENDS, 403)) == 1  # not retried
            assert len(fake.answered("POST", SENDS, 429)) == 15  # 5 tries by discord.py, times 3 rounds by the bot
    lost = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lost) == 2 and all(m.startswith("could not deliver the reply to message") for m in lost), lost
    assert not any(r.exc_info for r in caplog.records if r.levelno >= logging.ERROR)  # one line, no traceback
