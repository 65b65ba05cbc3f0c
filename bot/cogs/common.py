"""What the cogs share: the story option (autocomplete and lookup), sending rendered replies, polite refusals, and
the admin rule (`admin_only`)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar, cast

import discord
from discord import app_commands

from index import Library, StoryInfo

from ..messages import no_such_story, not_ready, several_stories_match
from ..render import Reply
from ..resilience import defer, deliver, send_to_interaction
from ..serving import LibraryUnavailable

if TYPE_CHECKING:
    from ..client import NewsroomBot

T = TypeVar("T")
AUTOCOMPLETE_LIMIT = 25  # Discord shows at most 25 choices
CHOICE_NAME_LIMIT = 100


def newsroom(interaction: discord.Interaction) -> NewsroomBot:
    return cast("NewsroomBot", interaction.client)


def admin_only() -> Callable[[T], T]:
    """The admin rule as a discord.py check: ADMIN_ROLE_IDS or the Manage Server permission (`NewsroomBot.is_admin`).

    Everyone else is refused before the command runs: the check fails, and the command tree's error handler
    (bot/client.py) answers REFUSE_ADMIN, seen only by them. The commands stay visible to all on purpose: Discord's
    `default_permissions` would hide them from admin roles that lack Manage Server.
    """

    def is_admin(interaction: discord.Interaction) -> bool:
        return newsroom(interaction).is_admin(interaction.user)

    return app_commands.check(is_admin)


def story_choices(stories: Sequence[StoryInfo], typed: str) -> list[app_commands.Choice[str]]:
    """Stories whose title or slug contains what the reader typed, titles first; the value is the slug."""
    needle = typed.casefold().strip()
    matches = [s for s in stories if needle in s.title.casefold() or needle in s.slug]
    matches.sort(key=lambda s: (not s.title.casefold().startswith(needle), s.title.casefold()))
    return [app_commands.Choice(name=s.title[:CHOICE_NAME_LIMIT], value=s.slug) for s in matches[:AUTOCOMPLETE_LIMIT]]


async def story_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete for every `story` option; empty while the library is still loading."""
    return story_choices(newsroom(interaction).stories, current)


def find_story(stories: Sequence[StoryInfo] | Library, typed: str | None) -> str | None:
    """The slug for what the reader picked or typed (a slug, or a title or unique part of one).

    `stories` is best the bot's cached list (`bot.stories`); a Library is listed on the spot.

    Raises LookupError with a reader-facing message when nothing, or more than one story, matches.
    """
    if typed is None or not typed.strip():
        return None
    if isinstance(stories, Library):
        stories = stories.stories()
    needle = typed.casefold().strip()
    for s in stories:
        if needle in (s.slug, s.title.casefold()):
            return s.slug
    partial = [s for s in stories if needle in s.title.casefold() or needle in s.slug]
    if len(partial) == 1:
        return partial[0].slug
    if partial:
        raise LookupError(several_stories_match(typed, partial))
    raise LookupError(no_such_story(typed))


async def send_followups(
    interaction: discord.Interaction, replies: Sequence[Reply], *, ephemeral: bool = False
) -> None:
    """Send rendered replies after `defer()`: the first one fills the "thinking…" message.

    Failed sends are retried; if the interaction expired, a public answer goes to the channel (bot/resilience.py).
    """
    await send_to_interaction(interaction, [reply.kwargs() for reply in replies], ephemeral=ephemeral)


async def answer_interaction(
    interaction: discord.Interaction,
    work: Callable[[], Awaitable[Sequence[Reply]]],
    *,
    ephemeral: bool = False,
) -> None:
    """Acknowledge within Discord's 3 s, `await work()` for the replies, then send them: every reading command
    and /ask go through here, so each one survives an expired interaction the same way.

    If the token has expired (10062 on the acknowledgement, or a follow-up refused), public replies go to the
    channel instead. A LookupError (an unknown story) becomes its reader-facing message; no usable index becomes
    the "not ready" text that suits who asked. Anything else propagates to the command tree's error handler.
    """
    await defer(interaction, ephemeral=ephemeral)
    try:
        replies = await work()
    except LookupError as exc:
        replies = [Reply(content=str(exc))]
    except LibraryUnavailable:
        replies = [Reply(content=not_ready(newsroom(interaction).is_admin(interaction.user)))]
    await send_followups(interaction, replies, ephemeral=ephemeral)


async def reply_to_message(message: discord.Message, replies: Sequence[Reply]) -> None:
    """Reply to a reader's message (even if it was deleted meanwhile), then send any overflow below it.

    Each send carries a nonce Discord enforces, so a retry after a lost response cannot post the answer twice.
    """
    reference = message.to_reference(fail_if_not_exists=False)
    for i, reply in enumerate(replies):
        kwargs = reply.kwargs() | {"nonce": f"{message.id}-{i}"}
        if i == 0:
            kwargs["reference"] = reference
        sent = await deliver(functools.partial(message.channel.send, **kwargs), f"the reply to message {message.id}")
        if sent is None:
            return
