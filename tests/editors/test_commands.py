"""For editors, on a simulated Discord (SimCord) with a real SQLite question log in tmp_path.

Logging from a mention and /ask, 👍 / 👎 buttons that keep working after a restart, /report posting a real PNG,
and /story set scoping a channel to one story, refused to non-admins.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import discord
import numpy as np
import pytest
from PIL import Image

from bot import create_bot
from bot.editorial.questionlog import open_reader
from bot.feedback import custom_id
from bot.render import attribution, render_summary
from index import Encoder, Library, build_index

from ..conftest import CONTENT, SEED_SLUG
from ..support.botkit import answered_after_defer, make_settings, refused_by_checks
from ..support.tiers import sure_of

QUESTION = "How many White Helmets are still trapped in Syria?"
BRIDGE = "second"


@pytest.fixture
def bot_library(library: Library) -> Library:
    """The session's index confident in QUESTION: this module tests what an answer does; test_closest.py the hedge."""
    return sure_of(library, QUESTION)


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "questions.sqlite3"


@pytest.fixture
def bot_settings(built_index: Path, log_path: Path):  # type: ignore[no-untyped-def]
    return make_settings(built_index, CONTENT, question_log_path=log_path)


@pytest.fixture
def world(world, simcord_env):  # type: ignore[no-untyped-def]
    """The shared world (guild, #general, alice) plus an editor with Manage Server."""
    guild, channel, alice = world
    desk = guild.create_role("desk", permissions=discord.Permissions(manage_guild=True))
    editor = guild.add_member(simcord_env.create_user("editor"), roles=[desk])
    return guild, channel, alice, editor


def _rows(path: Path, bot) -> list:  # type: ignore[no-untyped-def]
    bot.questions.flush()
    return open_reader(path).execute("SELECT * FROM questions ORDER BY id").fetchall()


def _buttons(message) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """label -> custom_id of every button on a message (raw component payloads)."""
    out = {}
    for row in message.components:
        row = row if isinstance(row, dict) else row.to_dict()
        for item in row.get("components", []):
            out[item.get("label")] = item.get("custom_id")
    return out


async def test_mentions_and_slash_questions_are_logged_with_buttons(simcord_env, world, log_path: Path) -> None:
    guild, channel, alice, _ = world
    bot = simcord_env.bot
    await alice.send(channel, f"{bot.user.mention} {QUESTION}")
    reply = channel.last_message
    await alice.send(channel, f"{bot.user.mention} Who painted the Mona Lisa?")
    abstention = channel.last_message
    messages = answered_after_defer(simcord_env, await alice.slash(channel, "ask", question=QUESTION))
    claim = await alice.send(channel, "I read that 3,000 White Helmets are trapped")
    answered_after_defer(simcord_env, await alice.context_menu(channel, "Ask the story", claim))

    rows = _rows(log_path, bot)
    assert [(r["source"], r["status"]) for r in rows] == [
        ("mention", "answered"),
        ("mention", "not_covered"),
        ("slash", "answered"),
        ("menu", rows[3]["status"]),
    ]
    assert rows[3]["question"] == "I read that 3,000 White Helmets are trapped"
    first = rows[0]
    assert (first["question"], first["guild_id"], first["channel_id"]) == (QUESTION, guild.id, channel.id)
    assert first["user_hash"] == bot.questions.hash_user(alice.id) and str(alice.id) not in first["user_hash"]
    assert first["latency_ms"] > 0
    refs = open_reader(log_path).execute(
        "SELECT story, paragraph FROM quote_refs WHERE question_id = ?", (first["id"],)
    )
    assert (SEED_SLUG, 1) in [tuple(r) for r in refs]
    assert _buttons(reply) == {
        "Helpful": custom_id("up", rows[0]["id"]),
        "Not helpful": custom_id("down", rows[0]["id"]),
    }
    assert _buttons(messages[-1])["Helpful"] == custom_id("up", rows[2]["id"])
    assert _buttons(abstention) == {}  # no quote, nothing to rate


async def test_votes_are_stored_changeable_and_survive_a_restart(
    simcord_env, world, log_path: Path, bot_settings, library: Library
) -> None:
    _, channel, alice, editor = world
    bot = simcord_env.bot
    await alice.send(channel, f"{bot.user.mention} {QUESTION}")
    answer = channel.last_message
    question_id = _rows(log_path, bot)[0]["id"]

    thanks = await alice.click(answer, label="Helpful")
    assert thanks.response.ephemeral and "So far 1 👍 and 0 👎" in thanks.response.content
    await alice.click(answer, label="Not helpful")  # changed her mind: still one vote
    bot.questions.flush()
    votes = open_reader(log_path).execute("SELECT question_id, user_hash, vote FROM feedback").fetchall()
    assert [tuple(v) for v in votes] == [(question_id, bot.questions.hash_user(alice.id), -1)]

    bot.questions.close()  # the old process goes away: every queued row is written
    await simcord_env.restart_bot(create_bot(bot_settings, library))
    fresh = simcord_env.bot
    assert fresh is not bot
    result = await editor.click(answer, label="Helpful")  # a button sent before the restart
    assert "So far 1 👍 and 1 👎" in result.response.content
    fresh.questions.flush()
    votes = open_reader(log_path).execute("SELECT vote FROM feedback ORDER BY vote").fetchall()
    assert [v[0] for v in votes] == [-1, 1]


async def test_report_posts_a_summary_and_a_real_chart(simcord_env, world) -> None:
    _, channel, alice, editor = world
    bot = simcord_env.bot
    for question in (QUESTION, "Why were the roads blocked?", "what roads were closed", "Who painted the Mona Lisa?"):
        await alice.send(channel, f"{bot.user.mention} {question}")
    assert [c["value"] for c in await editor.autocomplete(channel, "report", "story", "helmets")] == [SEED_SLUG]
    refused = await alice.slash(channel, "report")
    assert refused.response.ephemeral and refused.response.content.startswith("Sorry, only the newsroom's admins")
    assert refused_by_checks(simcord_env) == 1

    (post,) = answered_after_defer(simcord_env, await editor.slash(channel, "report", days=7))
    assert not post.ephemeral and post.content.startswith("**Reader questions** — 4 questions from 1 reader on")
    assert "The story didn't say" in post.content
    names = sorted(a.filename for a in post.attachments)
    assert names[0].endswith(".md") and names[1].endswith(".png")
    png = next(a for a in post.attachments if a.filename.endswith(".png"))
    with Image.open(io.BytesIO(await png.read())) as image:
        pixels = np.asarray(image.convert("L"), dtype=np.float64)
    assert pixels.shape == (500, 1500) and pixels.std() > 20
    sent = [r for r in simcord_env.http_requests if r.method == "POST" and "/webhooks/" in r.path]
    assert sent and all(r.json is None or r.json.get("allowed_mentions", {}).get("parse") == [] for r in sent)


@pytest.fixture
def two_stories(tmp_path: Path, encoder: Encoder) -> Library:
    content, index_dir = tmp_path / "content", tmp_path / "index"
    content.mkdir()
    (content / "white-helmets-trapped-in-syria.txt").write_bytes((CONTENT / f"{SEED_SLUG}.txt").read_bytes())
    (content / "second.md").write_text(
        "---\ntitle: Bridge Collapse\nsources: [AP]\n---\n\nA bridge collapsed on Tuesday in Genoa. "
        "Rescuers said 300 people were still trapped under the rubble.\n",
        encoding="utf-8",
    )
    build_index(content, index_dir, encoder=encoder)
    return Library.load(index_dir, encoder=encoder)


async def test_story_set_scopes_a_channel_and_is_admin_only(
    simcord_env, world, two_stories: Library, bot_settings
) -> None:
    _, channel, alice, editor = world
    simcord_env.bot.questions.close()
    await simcord_env.restart_bot(create_bot(bot_settings, two_stories))
    bot = simcord_env.bot
    question = "How many people are still trapped?"

    choices = await editor.autocomplete(channel, "story set", "story", "bridge")
    assert [c["value"] for c in choices] == [BRIDGE]
    refused = await alice.slash(channel, "story set", story=BRIDGE)
    assert refused.response.ephemeral and "only the newsroom's admins" in refused.response.content
    assert refused_by_checks(simcord_env) == 1
    assert bot.questions.channel_story(channel.id) is None

    set_result = await editor.slash(channel, "story set", story=BRIDGE)
    assert "Bridge Collapse" in set_result.response.content and not set_result.response.ephemeral
    await alice.send(channel, f"{bot.user.mention} {question}")
    scoped = channel.last_message.embeds[0].description
    assert "Bridge Collapse" in scoped and "White Helmets" not in scoped
    shown = await alice.slash(channel, "story show")
    assert "Bridge Collapse" in shown.response.content

    await editor.slash(channel, "story clear")
    rows = _rows(Path(bot.settings.question_log_file), bot)
    assert rows[-1]["story"] == BRIDGE
    assert bot.questions.channel_story(channel.id) is None
    other = await alice.slash(channel, "story show")
    assert "isn't tied to one story" in other.response.content


def test_an_answer_from_an_updated_story_says_so(library: Library) -> None:
    quote = library.ask(QUESTION).quotes[0]
    assert "updated" not in attribution(quote)
    line = attribution(quote.model_copy(update={"updated": dt.date(2026, 11, 25)}))
    assert line.endswith("· Sources: NPR; CNN · updated 2026-11-25")
    summary = library.summary(SEED_SLUG)
    assert "updated" not in str(render_summary(summary)[0].embeds[0].footer.text)
    edited = summary.model_copy(
        update={"quotes": [q.model_copy(update={"updated": dt.date(2026, 11, 25)}) for q in summary.quotes]}
    )
    assert "Sources: NPR; CNN · updated 2026-11-25" in str(render_summary(edited)[0].embeds[0].footer.text)
    assert "· updated 2026-11-25" in str(render_summary(edited, "plain")[-1].content)


async def test_with_the_log_switched_off_nothing_is_logged_and_no_buttons(
    simcord_env, world, bot_settings, library: Library, log_path: Path
) -> None:
    _, channel, alice, editor = world
    simcord_env.bot.questions.close()
    await simcord_env.restart_bot(create_bot(bot_settings.model_copy(update={"question_log_enabled": False}), library))
    bot = simcord_env.bot
    await alice.send(channel, f"{bot.user.mention} {QUESTION}")
    reply = channel.last_message
    assert reply.embeds and _buttons(reply) == {}
    assert _rows(log_path, bot) == []
    refused = await editor.slash(channel, "report")
    assert refused.response.ephemeral and "switched off" in refused.response.content
    await editor.slash(channel, "story set", story=SEED_SLUG)  # bindings still work
    assert bot.questions.channel_story(channel.id) == SEED_SLUG
