"""Discord's embed url rule on the wire: the fake Discord refuses what Discord refuses (50035), and the bot never
sends it, even for a story whose url came from an index built before story urls were checked."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest

from index import Library, Summary

from ..support.botkit import connected
from ..support.fake_discord import FakeDiscord


@pytest.mark.parametrize("url", ["javascript:alert(1)", "example.org/flood", "https://", "https://x.example/a b"])
async def test_the_fake_discord_refuses_an_embed_url_discord_would_refuse(
    monkeypatch: pytest.MonkeyPatch, built_index: Path, library: Library, url: str
) -> None:
    async with FakeDiscord() as fake:
        fake.install(monkeypatch)
        async with connected(fake, built_index, library) as bot:
            channel = bot.get_channel(fake.channel_id)
            assert isinstance(channel, discord.TextChannel)
            with pytest.raises(discord.HTTPException) as refused:
                await channel.send(embed=discord.Embed(title="Flood", url=url))
            assert refused.value.status == 400 and refused.value.code == 50035
            sent = await channel.send(embed=discord.Embed(title="Flood", url="https://news.example/flood"))
            assert sent.embeds[0].url == "https://news.example/flood"


async def test_summary_of_a_story_with_a_url_discord_refuses_is_still_sent(
    monkeypatch: pytest.MonkeyPatch, built_index: Path, library: Library
) -> None:
    real = Library.summary

    def old_index_summary(self: Library, *args: object, **kwargs: object) -> Summary:
        return real(self, *args, **kwargs).model_copy(update={"url": "javascript:alert(1)"})  # type: ignore[arg-type]

    monkeypatch.setattr(Library, "summary", old_index_summary)
    async with FakeDiscord() as fake:
        fake.install(monkeypatch)
        async with connected(fake, built_index, library):
            mark = len(fake.requests)
            interaction = fake.interaction_payload("summary", {})
            await fake.dispatch("INTERACTION_CREATE", interaction)
            path = f"/webhooks/{fake.application_id}/{interaction['token']}"
            followup = await fake.wait_for_request("POST", path, after=mark)
            assert followup.status == 200, followup
            (embed,) = followup.json["embeds"]
            assert "url" not in embed and embed["title"].startswith("Summary: ")


def test_simcord_refuses_an_embed_url_discord_would_refuse_too() -> None:
    """SimCord itself checks only sizes; tests/conftest.py adds the url rule (this fails without it)."""
    import simcord.components as components

    with pytest.raises(components.ComponentValidationError, match=r"embeds\[0\]\.url: Not a well formed URL"):
        components.validate_message_state([], flags=0, content=None, embeds=[{"url": "example.org/flood"}])
    with pytest.raises(components.ComponentValidationError, match='Scheme "javascript" is not supported'):
        components.validate_message_state([], flags=0, content=None, embeds=[{"url": "javascript:alert(1)"}])
    components.validate_message_state([], flags=0, content=None, embeds=[{"url": "https://news.example/s"}])
