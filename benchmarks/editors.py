"""How fast the question log and the editors' report are.

    python -m benchmarks.editors --index data/index [--questions 5000] [--out /tmp/bench-report]

Measures, on a fresh SQLite file in a temporary folder: the time `QuestionLog.record` takes on the caller (what
the event loop pays per question), how long the writer thread needs to store them all, votes, and `gather` +
`write_report` (embedding, clustering, Markdown, PNG) over that many questions. Questions are drawn from the
shipped story's words turned into questions plus made-up ones about its topics, so many are distinct; each is
logged with what the engine really replies (answered, closest or not covered, and the paragraphs it quoted), asked
before anything is timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from bot.editorial.questionlog import QuestionLog, QuestionRecord, open_reader
from bot.editorial.report import gather
from bot.editorial.report_render import write_report
from index import Answer, Library

TOPICS = ["roads", "funding", "resettlement", "Jordan", "Israel", "the UN", "Assad", "ISIS", "Canada", "the UK"]
FORMS = ["What about {}?", "Why did {} matter here?", "Who speaks for {}?", "what did {} say", "Is {} involved?"]


def questions(library: Library, n: int, rng: random.Random) -> list[str]:
    story = library.data.stories[0]
    words = [w.strip(".,;:") for p in story.paragraphs for w in p.text.split() if len(w) > 6]
    out = []
    for _ in range(n):
        if rng.random() < 0.5:
            out.append(rng.choice(FORMS).format(f"{rng.choice(TOPICS)} and {rng.choice(words).lower()}"))
        else:
            out.append(f"What does the story say about {rng.choice(words).lower()}?")
    return out


def replies(library: Library, pool: list[str]) -> dict[str, Answer]:
    """The engine's answer to each distinct question, asked once each of the shipped story (as a bound channel)."""
    distinct = sorted(set(pool))
    return dict(zip(distinct, library.ask_many(distinct, [library.data.stories[0].slug] * len(distinct))))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--questions", type=int, default=5000)
    p.add_argument("--out", type=Path, help="keep the report here (default: a temporary folder)")
    args = p.parse_args()
    library = Library.load(args.index)
    rng = random.Random(7)
    pool = questions(library, args.questions, rng)
    answers = replies(library, pool)
    now = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory() as folder:
        log = QuestionLog(Path(folder) / "q.sqlite3", retention_days=0)
        calls = []
        started = time.perf_counter()
        for question in pool:
            when = now - dt.timedelta(days=rng.uniform(0, 7))
            rec = QuestionRecord.from_answer(
                answers[question], user_id=rng.randrange(500), latency_ms=50.0, asked_at=when
            )
            t = time.perf_counter()
            log.record(rec)
            calls.append(time.perf_counter() - t)
        queued = time.perf_counter() - started
        log.flush(timeout=None)
        stored = time.perf_counter() - started
        t = time.perf_counter()
        futures = [log.vote(1 + i, i % 500, 1 if i % 4 else -1) for i in range(min(2000, len(pool)))]
        for f in futures:
            f.result()
        votes = time.perf_counter() - t
        log.close()
        t = time.perf_counter()
        conn = open_reader(log.path)
        rows_stored = conn.execute("SELECT COUNT(*) FROM questions").fetchone()[0]
        data = gather(conn, library.encoder, days=7, library=library)
        conn.close()
        gathered = time.perf_counter() - t
        t = time.perf_counter()
        write_report(data, args.out or Path(folder) / "out")
        written = time.perf_counter() - t
    figures = {
        "questions": len(pool),
        "distinct": len(answers),
        "statuses": dict(Counter(answers[q].status.value for q in pool)),
        "rows_stored": rows_stored,
        "record_call_us_p50": round(float(np.percentile(calls, 50)) * 1e6, 1),
        "record_call_us_p99": round(float(np.percentile(calls, 99)) * 1e6, 1),
        "all_queued_s": round(queued, 3),
        "all_stored_s": round(stored, 3),
        "rows_per_s": round(len(pool) / stored),
        "votes_2000_s": round(votes, 3),
        "gather_s": round(gathered, 2),
        "markdown_and_png_s": round(written, 2),
        "unanswered_groups": len(data.unanswered),
        "left_open_groups": len(data.left_open),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
