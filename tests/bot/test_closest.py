"""A CLOSEST reply on a simulated Discord (SimCord): by @mention and /ask, the closest passage under a hedge, with
the 👍 / 👎 buttons and a question-log row of its own tier.

The bot serves the session's index with thresholds this file sets around the demonstration question's own
confidence, so it is CLOSEST whatever the shipped weights.json says, and an off-topic question is still declined.
"""

from __future__ import annotations

from pathlib import Path

import discord
import pytest

from bot.editorial.questionlog import open_reader
from bot.messages import CLOSEST_FOOTER
from bot.render import CLOSEST_COLOUR, CLOSEST_MARK
from index import Library

from ..conftest import CONTENT
from ..support.botkit import ATTRIBUTION, answered_after_defer, assert_verbatim, make_settings
from ..support.tiers import unsure_of

QUESTION = "How many White Helmets are still trapped in Syria?"
OFF_TOPIC = "Who painted the Mona Lisa?"
HEDGE = "“White Helmets Trapped in Syria” may not answer this directly; the closest passage is ¶1."


@pytest.fixture
def bot_library(library: Library) -> Library:
    """The session's index, unsure of QUESTION: confident only above its confidence, declining only far below."""
    return unsure_of(library, QUESTION, OFF_TOPIC)


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "questions.sqlite3"


@pytest.fixture
def bot_settings(request: pytest.FixtureRequest, built_index: Path, log_path: Path):  # type: ignore[no-untyped-def]
    return make_settings(built_index, CONTENT, question_log_path=log_path, **getattr(request, "param", {}))


def _check_closest(embed: discord.Embed, library: Library) -> None:
    assert embed.colour == CLOSEST_COLOUR and embed.footer.text == CLOSEST_FOOTER
    head, *_ = embed.description.split("\n")
    assert head.startswith(CLOSEST_MARK) and "may not answer this directly" in head
    quotes = assert_verbatim(library, embed.description)
    assert quotes[0][1] == 1 and "300" in quotes[0][0]
    cite = next(line for line in embed.description.split("\n") if line.startswith("—"))
    match = ATTRIBUTION.match(cite)
    assert match and match["title"] == "White Helmets Trapped in Syria" and match["src"] == "NPR; CNN"


async def test_a_mention_gets_the_closest_passage_under_a_hedge_with_votes(
    simcord_env, world, bot_library: Library, log_path: Path
) -> None:
    _, channel, alice = world
    bot = simcord_env.bot
    await alice.send(channel, f"@everyone {bot.user.mention} {QUESTION}")
    reply = channel.last_message
    assert reply.author.id == bot.user.id and len(reply.embeds) == 1
    _check_closest(reply.embeds[0], bot_library)
    assert reply.mentions == [] and not reply.mention_everyone

    thanks = await alice.click(reply, label="Helpful")  # a closest passage is rated like an answer
    assert "So far 1 👍 and 0 👎" in thanks.response.content
    await alice.send(channel, f"{bot.user.mention} {OFF_TOPIC}")
    assert channel.last_message.content.startswith("The story doesn't say that")

    bot.questions.flush()
    conn = open_reader(log_path)
    rows = conn.execute("SELECT id, status FROM questions ORDER BY id").fetchall()
    assert [r["status"] for r in rows] == ["closest", "not_covered"]
    refs = conn.execute("SELECT story, paragraph FROM quote_refs WHERE question_id = ?", (rows[0]["id"],))
    assert [r["paragraph"] for r in refs][:1] == [1]
    assert [tuple(v) for v in conn.execute("SELECT question_id, vote FROM feedback")] == [(rows[0]["id"], 1)]


async def test_slash_ask_gets_the_closest_passage_with_the_question_shown(
    simcord_env, world, bot_library: Library
) -> None:
    _, channel, alice = world
    messages = answered_after_defer(simcord_env, await alice.slash(channel, "ask", question=QUESTION))
    (embed,) = [e for m in messages for e in m.embeds]
    assert embed.title == f"“{QUESTION}”"
    _check_closest(embed, bot_library)
    assert embed.description.split("\n")[0] == f"{CLOSEST_MARK} *{HEDGE}*"


@pytest.mark.parametrize("bot_settings", [{"reply_style": "plain"}], indirect=True)
async def test_plain_style_closest_reply_leads_with_the_hedge(simcord_env, world, bot_library: Library) -> None:
    _, channel, alice = world
    await alice.send(channel, f"{simcord_env.bot.user.mention} {QUESTION}")
    reply = channel.last_message
    assert not reply.embeds and 0 < len(reply.content) <= 2000
    assert reply.content.startswith(f"{CLOSEST_MARK} *{HEDGE}*\n\n> ")
    assert_verbatim(bot_library, reply.content)
