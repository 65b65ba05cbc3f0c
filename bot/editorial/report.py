"""What readers asked: figures and question groups from the question log, for an editor's newsletter.

Answered questions are grouped by the passage that answered them, declined ones by meaning (see `grouping`), and so
are the questions the bot could only meet with the closest passage (status `closest`): they are the editors' best
list of what readers want that the story may leave open, so they get a list of their own.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from index import Encoder, Library

from .grouping import Group, LoggedQuestion, group_questions, normalise, passage_key
from .logdb import LogConnection, day
from .questionlog import utc_now

SHOWN_GROUPS = 12
UP, DOWN = "SUM(CASE WHEN f.vote = 1 THEN 1 ELSE 0 END)", "SUM(CASE WHEN f.vote = -1 THEN 1 ELSE 0 END)"
ANSWERED, CLOSEST, NOT_COVERED = "answered", "closest", "not_covered"  # index.AnswerStatus values, as logged
OUTCOMES = (ANSWERED, CLOSEST, NOT_COVERED)  # what a real question can get; the rest are refusals (empty, too long)


@dataclass
class RefUse:
    story: str
    paragraph: int
    paragraph_hash: str | None
    quoted: int
    up: int
    down: int
    status: str = ""  # filled from the current index: "paragraph 3 (unchanged)" ...


@dataclass
class LeftOpen:
    """Questions met only with the closest passage, grouped by meaning, and the paragraph shown most often."""

    group: Group
    story: str | None  # the story and paragraph of the closest passage shown most often (None: no ref logged)
    paragraph: int | None


@dataclass
class ReportData:
    since: dt.datetime
    until: dt.datetime
    story: str | None
    total: int = 0
    readers: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    up: int = 0
    down: int = 0
    per_story: dict[str, Counter[str]] = field(default_factory=dict)  # story -> status/up/down counts
    per_day: dict[str, Counter[str]] = field(default_factory=dict)  # YYYY-MM-DD -> status counts
    median_latency_ms: float | None = None
    most_asked: list[Group] = field(default_factory=list)
    unanswered: list[Group] = field(default_factory=list)
    left_open: list[LeftOpen] = field(default_factory=list)  # closest replies: what the story may leave open
    quoted: list[RefUse] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def helpful_rate(self) -> float | None:
        votes = self.up + self.down
        return self.up / votes if votes else None

    @property
    def asked(self) -> int:
        """Real questions: answered, met with the closest passage, or declined."""
        return sum(self.statuses[s] for s in OUTCOMES)

    @property
    def answered_rate(self) -> float | None:
        return self.statuses[ANSWERED] / self.asked if self.asked else None

    @property
    def closest_rate(self) -> float | None:
        return self.statuses[CLOSEST] / self.asked if self.asked else None

    def title(self, slug: str) -> str:
        return self.titles.get(slug, slug)


def topic_vectors(library: Library) -> dict[str, np.ndarray]:
    """Each story's mean paragraph vector, and the library's under "" (for questions not tied to a story)."""
    vectors = library.paragraph_vectors()
    out: dict[str, np.ndarray] = {"": vectors.mean(axis=0) if len(vectors) else np.zeros(vectors.shape[1])}
    for story in library.stories():
        out[story.slug] = library.paragraph_vectors(story.slug).mean(axis=0)
    return out


def gather(
    conn: LogConnection,
    encoder: Encoder,
    *,
    days: float = 7.0,
    story: str | None = None,
    library: Library | None = None,
    now: dt.datetime | None = None,
) -> ReportData:
    """Read the log for the last `days` (optionally one story) and compute everything the report shows (the same
    SQL on either backend: `picked` is a temporary table of this connection)."""
    until = now or utc_now()
    since = until - dt.timedelta(days=days)
    conn.execute("DROP TABLE IF EXISTS picked")
    conn.execute(
        "CREATE TEMP TABLE picked AS SELECT q.id, q.asked_at, q.user_hash, q.question, q.status, q.latency_ms,"
        " COALESCE(q.story, r.story, '') AS story, r.story AS ref_story, r.paragraph AS ref_paragraph,"
        " r.paragraph_hash AS ref_hash FROM questions q"
        " LEFT JOIN quote_refs r ON r.question_id = q.id AND r.position = 0"
        " WHERE q.asked_at >= ? AND q.asked_at <= ?",
        (conn.moment(since), conn.moment(until)),
    )
    if story is not None:
        conn.execute("DELETE FROM picked WHERE story != ?", (story,))
    data = ReportData(since=since, until=until, story=story)
    if library is not None:
        data.titles = {s.slug: s.title for s in library.stories()}
    rows = conn.execute("SELECT * FROM picked ORDER BY asked_at").fetchall()
    data.total = len(rows)
    data.readers = len({r["user_hash"] for r in rows})
    latencies = sorted(r["latency_ms"] for r in rows)
    data.median_latency_ms = float(np.median(latencies)) if latencies else None
    for r in rows:
        data.statuses[r["status"]] += 1
        data.per_story.setdefault(r["story"], Counter())[r["status"]] += 1
        data.per_day.setdefault(day(r["asked_at"]), Counter())[r["status"]] += 1
    for r in conn.execute(
        f"SELECT p.story, {UP} AS up, {DOWN} AS down FROM feedback f"
        " JOIN picked p ON p.id = f.question_id GROUP BY p.story"
    ):
        data.up, data.down = data.up + r["up"], data.down + r["down"]
        data.per_story.setdefault(r["story"], Counter()).update(up=r["up"], down=r["down"])

    real = [r for r in rows if r["status"] in OUTCOMES]
    asked = [
        LoggedQuestion(r["question"], r["story"], r["status"] == ANSWERED, r["user_hash"], _passage(r)) for r in real
    ]
    by_status = {status: [q for q, r in zip(asked, real) if r["status"] == status] for status in OUTCOMES}
    topics = topic_vectors(library) if library is not None else None
    cache: dict[str, np.ndarray] = {}
    groups = group_questions(asked, encoder, topics, cache=cache)
    data.most_asked = [g for g in groups if g.count > 1][:SHOWN_GROUPS] or groups[:SHOWN_GROUPS]
    data.unanswered = group_questions(by_status[NOT_COVERED], encoder, topics, cache=cache)[:SHOWN_GROUPS]
    # closest replies are grouped by meaning alone, as declined ones are (`answered` is False for them)
    left_open = group_questions(by_status[CLOSEST], encoder, topics, cache=cache)[:SHOWN_GROUPS]
    data.left_open = [_left_open(g, [r for r in real if r["status"] == CLOSEST]) for g in left_open]
    data.quoted = _quoted(conn, library)
    return data


def _left_open(group: Group, rows: list[Any]) -> LeftOpen:
    """The group with the closest passage its questions were shown most often."""
    phrasings = {normalise(p) for p, _ in group.phrasings}
    shown = Counter(
        (r["ref_story"], r["ref_paragraph"])
        for r in rows
        if r["ref_story"] is not None and normalise(r["question"]) in phrasings
    )
    story, paragraph = shown.most_common(1)[0][0] if shown else (None, None)
    return LeftOpen(group, story, paragraph)


def _passage(row: Any) -> str:
    if row["ref_story"] is None:
        return ""
    return passage_key(row["ref_story"], row["ref_paragraph"], row["ref_hash"])


def _quoted(conn: LogConnection, library: Library | None, limit: int = 10) -> list[RefUse]:
    """The paragraphs quoted most, with their votes, and whether each is still the same text in the index."""
    uses = [
        RefUse(r["story"], r["paragraph"], r["paragraph_hash"], r["quoted"], r["up"] or 0, r["down"] or 0)
        for r in conn.execute(
            "SELECT r.story, r.paragraph, r.paragraph_hash, COUNT(DISTINCT r.question_id) AS quoted,"
            f" {UP} AS up, {DOWN} AS down"
            " FROM quote_refs r JOIN picked p ON p.id = r.question_id"
            " LEFT JOIN feedback f ON f.question_id = r.question_id AND r.position = 0"
            " GROUP BY r.story, r.paragraph, r.paragraph_hash ORDER BY quoted DESC, r.story, r.paragraph LIMIT ?",
            (limit,),
        )
    ]
    for use in uses:
        ref = library.resolve_ref(use.story, use.paragraph, use.paragraph_hash) if library else None
        use.status = ref.describe() if ref else f"paragraph {use.paragraph}"
    return uses
