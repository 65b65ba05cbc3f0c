"""Every sentence the bot says in Discord, in one module to read, review and reword.

The answers themselves are quoted from the engine's results, and laid out (block quotes, attribution lines, the
labels "Sources:" and "¶", titles of summaries and lists) by bot/render.py; the editors' report post is laid out
by bot/editorial/report_render.py. Everything else is here: the lines around an answer (a story that doesn't say
it, a question to ask), footers, not ready yet, restarting, slow down, not allowed, something broke, which story,
the replies to /reindex, /story and the 👍 / 👎 buttons. Text that comes from a story or a reader is escaped
(Markdown and mentions) before it goes into a sentence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .escaping import escape

if TYPE_CHECKING:
    from index import BuildReport, StoryInfo

# ----------------------------------------------------------------- not answering now
# Without a usable index, readers are told to come back; only those who can fix it are told how.
NOT_READY = "I'm not ready to answer yet: my stories aren't loaded. Please try again shortly."
NOT_READY_ADMIN = (
    "I can't answer yet: no stories are indexed here. Run `/reindex` (or `newsroom-bot build` on the server) "
    "and I'll start answering without a restart; the bot's log says what went wrong."
)
RESTARTING = "I'm restarting right now. Please ask again in a minute."
SORRY = "Sorry, something went wrong on my side while answering. Please try again in a moment."
REFUSE_ADMIN = "Sorry, only the newsroom's admins can do that (an admin role or the Manage Server permission)."
DM_REFUSAL = "I only answer questions in the newsroom's server. Ask me there: @mention me or use `/ask`."
STILL_LOADING = "The stories are still loading; try again shortly."


def not_ready(admin: bool) -> str:
    """What a reader is told while there is no usable index: how to fix it if they may run `/reindex`."""
    return NOT_READY_ADMIN if admin else NOT_READY


def cooldown_text(retry_after: float) -> str:
    seconds = max(1, math.ceil(retry_after))
    return f"You're asking faster than I can keep up. Please wait {seconds} s and ask again."


# ----------------------------------------------------------------- around an answer
ANSWER_FOOTER = "Quoted word for word from the story."
CLOSEST_FOOTER = "The closest passage, quoted word for word; it may not answer your question."
SUMMARY_FOOTER = "sentences quoted word for word, in story order"  # after the sources in a summary's footer
EMPTY_QUESTION = "Ask me a question about the story, for example: *How many White Helmets are still trapped?*"
TOO_LONG_HINT = "A sentence or two is plenty."  # after the engine's own line saying how long is too long
NOTHING_TO_CHECK = "That message has no text for me to check against the story."
MORE_THAN_FITS = "(more than fits here; ask a narrower question)"
NO_STORIES = "No stories are indexed yet."
NO_STORIES_ADMIN_HINT = "An admin can add story files and run `/reindex`."


def not_covered(*, many_stories: bool) -> str:
    """The story (or, searching several, none of them) doesn't say it, and what to try instead."""
    lead = "None of the stories here say that" if many_stories else "The story doesn't say that"
    return f"{lead}, so I won't guess. Try asking another way, or use `/summary` to see what it covers."


# ----------------------------------------------------------------- which story
def which_story(stories: Sequence[StoryInfo]) -> str:
    """/summary without a story when several are indexed: name the first ten."""
    titles = ", ".join(f"*{escape(s.title)}*" for s in stories[:10]) or "none yet"
    return f"Which story? Pick one in the `story` option: {titles}."


def several_stories_match(typed: str, stories: Sequence[StoryInfo]) -> str:
    names = ", ".join(f"*{escape(s.title)}*" for s in stories[:5])
    return f"Several stories match “{escape(typed)}”: {names}. Pick one from the list."


def no_such_story(typed: str) -> str:
    return f"I don't have a story called “{escape(typed)}”. `/stories` lists the ones I know."


# ----------------------------------------------------------------- /reindex
REBUILD_RUNNING = "A rebuild is already running; try again shortly."


def rebuilt(report: BuildReport) -> str:
    """What the admin sees after a rebuild: counts, and every story file that could not be used."""
    if report.changed:
        lines = [
            f"Rebuilt the index: {len(report.stories)} stories ({report.paragraphs} paragraphs), "
            f"{len(report.embedded)} embedded, {len(report.reused)} reused. Questions now use it."
        ]
    elif report.stories:
        lines = [f"The index was already up to date ({len(report.stories)} stories); nothing to rebuild."]
    elif report.errors:
        lines = ["None of the story files could be used; the previous index stays in use."]
    else:
        lines = [
            "There are no stories in the content folder: add story files there (.md, .markdown or .txt) "
            "and run `/reindex` again. The previous index stays in use."
        ]
    return "\n".join(lines + [f"• {escape(error)}" for error in report.errors])


def rebuild_failed(reason: str) -> str:
    return f"The rebuild failed; the current index stays in use. {escape(reason)}"


# ----------------------------------------------------------------- /story and /report
NO_LOG = "The question log is switched off (QUESTION_LOG_ENABLED=false), so there is nothing to report."
UNBOUND = "Questions in this channel now search every story."
NOT_BOUND = "This channel isn't tied to one story: I search every story and name the story of each quote."


def bound_to(title: str) -> str:
    """/story set: the channel now answers from this story."""
    return f"Questions in this channel are now answered from *{escape(title)}* only. `/story clear` undoes it."


def binding(title: str, *, indexed: bool) -> str:
    """/story show: the story the channel answers from, and whether it is still indexed."""
    return f"Questions here are answered from *{escape(title)}*" + ("." if indexed else " (no longer indexed).")


# ----------------------------------------------------------------- 👍 / 👎
VOTES_OFF = "Feedback is switched off here."
VOTE_TOO_OLD = "That answer is too old to rate (the question log has let it go)."
VOTE_NOT_SAVED = "Sorry, I couldn't save that just now. Please try again later."


def vote_noted(emoji: str, up: int, down: int) -> str:
    return (
        f"Thanks, noted {emoji}. So far {up} 👍 and {down} 👎 for this answer; "
        "you can change your vote with the other button."
    )
