"""Paragraph refs that stay meaningful after a story is edited and rebuilt.

Paragraph numbers are positions (what a reader counts), so an inserted paragraph shifts the ones after
it. A logged ref therefore keeps the paragraph's content hash too: resolving it against the current
story says whether that paragraph is unchanged, moved to another number, or changed since.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict

from .models import Story


class RefState(str, Enum):
    UNCHANGED = "unchanged"
    MOVED = "moved"
    CHANGED = "changed"
    STORY_GONE = "story_gone"


class RefStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    story: str
    paragraph: int
    state: RefState
    now: int | None = None  # the paragraph's current number when its text is still in the story

    def describe(self) -> str:
        if self.state is RefState.UNCHANGED:
            return f"paragraph {self.paragraph} (unchanged)"
        if self.state is RefState.MOVED:
            return f"paragraph {self.paragraph}, now paragraph {self.now} (text unchanged)"
        if self.state is RefState.CHANGED:
            return f"paragraph {self.paragraph} (text changed since)"
        return f"paragraph {self.paragraph} (story no longer indexed)"


def resolve_ref(story: Story | None, slug: str, paragraph: int, digest: str | None) -> RefStatus:
    """Where the paragraph a quote came from is now. Without a hash, only the number can be trusted."""
    if story is None:
        return RefStatus(story=slug, paragraph=paragraph, state=RefState.STORY_GONE)
    if digest is None:
        state = RefState.UNCHANGED if 1 <= paragraph <= len(story.paragraphs) else RefState.CHANGED
        return RefStatus(
            story=slug, paragraph=paragraph, state=state, now=paragraph if state is RefState.UNCHANGED else None
        )
    numbered = story.paragraphs[paragraph - 1] if 1 <= paragraph <= len(story.paragraphs) else None
    if numbered is not None and numbered.content_hash == digest:
        return RefStatus(story=slug, paragraph=paragraph, state=RefState.UNCHANGED, now=paragraph)
    moved = next((p.number for p in story.paragraphs if p.content_hash == digest), None)
    if moved is not None:
        return RefStatus(story=slug, paragraph=paragraph, state=RefState.MOVED, now=moved)
    return RefStatus(story=slug, paragraph=paragraph, state=RefState.CHANGED)
