"""One bot split across two OS processes (SHARD_COUNT=2, SHARD_IDS=0 and 1), both serving the one index on disk.

Each process is the real `newsroom-bot run` (tests/support/bot_process.py), connected to the loopback fake Discord in this
test's process, which routes each guild's events to the shard Discord would: `(guild_id >> 22) % shard_count`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest

from bot import create_bot
from bot.client import ShardedNewsroomBot
from bot.settings import SettingsError, load_settings
from index import Library
from index.store import read_build
from index.vectors import RowVectors

from ..conftest import CONTENT
from ..support.bot_process import spawn, stop
from ..support.botkit import assert_verbatim, make_settings
from ..support.fake_discord import FakeDiscord, Frame

QUESTION = "How many White Helmets are still trapped in Syria?"


async def test_two_processes_each_run_their_shard_and_answer_from_one_index(
    tmp_path: Path, built_index: Path, library: Library
) -> None:
    async with FakeDiscord(lifetime=180) as fake:
        first_shard = (fake.guild_id >> 22) % 2
        guilds = {first_shard: fake.guild_id, 1 - first_shard: fake.add_guild(shard=(1 - first_shard, 2))[0]}
        common = {
            "DISCORD_TOKEN": fake.token, "INDEX_DIR": str(built_index), "CONTENT_DIR": str(CONTENT),
            "SHARD_COUNT": "2", "QUESTION_LOG_PATH": str(tmp_path / "questions.sqlite3"),  # one log, shared
            "INDEX_WATCH_SECONDS": "0", "LOG_LEVEL": "INFO",
        }  # fmt: skip
        logs = [tmp_path / f"shard{i}.log" for i in (0, 1)]
        processes = [
            await spawn(fake.http_url, fake.ws_url, common | {"SHARD_IDS": str(i)}, log=logs[i], cwd=tmp_path)
            for i in (0, 1)
        ]
        try:
            identified = await frames(fake, 2, op=2)  # IDENTIFY from each process
            assert sorted(f.d["shard"] for f in identified) == [[0, 2], [1, 2]]
            await frames(fake, 2, op=0, t="GUILD_CREATE", direction="out")  # each shard has its guild
            assert sorted(fake.shards) == [0, 1] and fake.shards[0] is not fake.shards[1]  # two connections

            # A question in each shard's guild, delivered on that shard's connection only, is answered.
            asked = {}
            for shard, guild_id in guilds.items():
                message = fake.message_payload(
                    f"<@{fake.bot_id}> {QUESTION}", mentions=[fake.bot_user], guild_id=guild_id
                )
                await fake.dispatch("MESSAGE_CREATE", message)
                asked[shard] = message
            for shard, message in asked.items():
                path = f"/channels/{fake.guilds[guilds[shard]]}/messages"
                reply = await fake.wait_for_request("POST", path, timeout=120)
                assert str(reply.json["message_reference"]["message_id"]) == message["id"]
                quotes = assert_verbatim(library, reply.json["embeds"][0]["description"])
                assert quotes[0][1] == 1 and "300" in quotes[0][0]
        finally:
            codes = await asyncio.gather(*(stop(p) for p in processes))
        outputs = [log.read_text() for log in logs]
        assert codes == [0, 0], outputs  # SIGTERM: a graceful shutdown in both
        for out in outputs:  # each process loaded the index itself, from the one folder
            assert "loaded the index" in out and "closed cleanly" in out, out
    assert fake.identify_count == 2


async def frames(fake: FakeDiscord, n: int, op: int, t: str | None = None, direction: str = "in") -> list[Frame]:
    """The first `n` frames matching, waiting (bounded) for them; a slow process start is allowed for."""
    found = [await fake.wait_for_frame(op, t, direction=direction, timeout=120)]
    while len(found) < n:
        after = fake.frames.index(found[-1]) + 1
        found.append(await fake.wait_for_frame(op, t, direction=direction, after=after, timeout=120))
    return found


def test_shard_ids_go_to_discord_py_and_are_checked_against_the_count(built_index: Path, library: Library) -> None:
    bot = create_bot(make_settings(built_index, CONTENT, shard_count=4, shard_ids="3, 1"), library)
    assert isinstance(bot, ShardedNewsroomBot) and bot.shard_count == 4 and bot.shard_ids == [1, 3]
    every = create_bot(make_settings(built_index, CONTENT, shard_count=4), library)
    assert every.shard_ids is None  # unset: this process runs all four

    cases: list[tuple[dict[str, Any], str]] = [
        ({"shard_ids": "0,1"}, "SHARD_IDS needs SHARD_COUNT set to a number"),
        ({"shard_count": "auto", "shard_ids": "0"}, "SHARD_IDS needs SHARD_COUNT set to a number"),
        ({"shard_count": 2, "shard_ids": "0,2"}, "between 0 and SHARD_COUNT - 1 = 1; [2] is not"),
        ({"shard_count": 2, "shard_ids": "-1"}, "greater than or equal to 0 (got '-1')"),
        ({"shard_count": 2, "shard_ids": "1 1"}, "names a shard twice"),
        ({"shard_count": 2, "shard_ids": "one"}, "SHARD_IDS"),
    ]
    for bad, message in cases:
        with pytest.raises(SettingsError, match="SHARD_IDS") as caught:
            load_settings(_env_file=None, **bad)
        assert message in str(caught.value)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads Linux's /proc to see the mappings")
def test_the_faiss_files_are_memory_mapped_and_search_as_a_copy_does(built_index: Path) -> None:
    """Processes sharing one index share its vectors (docs/operations.md): read_build maps the FAISS files
    rather than copying them, and a mapped index finds and returns exactly what a copied one does."""
    data = read_build(built_index)
    maps = Path("/proc/self/maps").read_text()
    for name, mapped in [("paragraphs.faiss", data.paragraph_vectors), ("sentences.faiss", data.sentence_vectors)]:
        path = data.path / name
        assert str(path.resolve()) in maps
        copy = faiss.read_index(str(path))
        rows = RowVectors(copy).all()
        queries = rows[:5] + np.float32(0.01)
        assert [a.tolist() for a in mapped.search(queries, 5)] == [a.tolist() for a in copy.search(queries, 5)]
        assert np.array_equal(RowVectors(mapped).all(), rows)
