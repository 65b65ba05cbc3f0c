"""The report as an editor pastes it: Markdown, a PNG chart (matplotlib's Agg canvas), and a short Discord summary."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..escaping import escape
from .grouping import Group
from .report import ANSWERED, CLOSEST, NOT_COVERED, OUTCOMES, LeftOpen, ReportData

GREEN, AMBER, GREY, RED = "#2e7d32", "#c27c0e", "#9e9e9e", "#c62828"
TIERS = ((ANSWERED, GREEN, "answered"), (CLOSEST, AMBER, "closest passage"), (NOT_COVERED, GREY, "story doesn't say"))
LEFT_OPEN = "What readers asked that the story may leave open"
LEFT_OPEN_NOTE = (
    "The bot wasn't sure the story answers these and showed the closest passage under a hedge: the best list of "
    "what readers want that the story doesn't answer outright."
)


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"


def _span(data: ReportData) -> str:
    return f"{data.since:%Y-%m-%d} to {data.until:%Y-%m-%d}"


def _md_escape(text: str) -> str:
    """Questions are reader input: keep them from turning into Markdown (links, tables, headings)."""
    for ch in "\\`*_[]<>|#":
        text = text.replace(ch, "\\" + ch)
    return " ".join(text.split())


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _readers(group: Group) -> str:
    return _plural(len(group.readers - {""}), "reader")


def _group_line(group: Group, data: ReportData) -> str:
    where = ", ".join(data.title(s) for s in group.stories) or "asked of all stories"
    line = f"**“{_md_escape(group.label)}”** — asked {group.count}× by {_readers(group)} ({_md_escape(where)})"
    others = [p for p, _ in group.phrasings[1:4]]
    if others:
        line += "  \n   also: " + "; ".join(f"“{_md_escape(p)}”" for p in others)
    return line


def _left_open_line(item: LeftOpen, data: ReportData) -> str:
    """A group line, and the paragraph the bot showed as the closest passage."""
    line = _group_line(item.group, data)
    if item.story is None:
        return line
    return f"{line}  \n   closest passage shown: {_md_escape(data.title(item.story))}, ¶{item.paragraph}"


def headline(data: ReportData) -> str:
    scope = f"“{data.title(data.story)}”" if data.story else "all stories"
    helpful = f"helpful {_pct(data.helpful_rate)} ({data.up} 👍, {data.down} 👎)"
    return (
        f"{_plural(data.total, 'question')} from {_plural(data.readers, 'reader')} on {scope}, {_span(data)} · "
        f"answered {_pct(data.answered_rate)} · closest passage {_pct(data.closest_rate)} · {helpful}"
    )


def markdown(data: ReportData, chart_name: str | None = None) -> str:
    out = [f"# What readers asked, {_span(data)}", "", f"*{headline(data)}*", ""]
    if chart_name:
        out += [f"![Questions per day and per story]({chart_name})", ""]
    out += ["## What readers wanted to know that the story didn't say", ""]
    out += [f"{i}. {_group_line(g, data)}" for i, g in enumerate(data.unanswered, 1)] or [
        "Nothing: no question was declined."
    ]
    out += ["", f"## {LEFT_OPEN}", "", f"*{LEFT_OPEN_NOTE}*", ""]
    out += [f"{i}. {_left_open_line(g, data)}" for i, g in enumerate(data.left_open, 1)] or [
        "Nothing: every quote the bot showed, it showed as an answer."
    ]
    out += ["", "## Most asked", "", "| # | Question | Times | Readers | Answered |", "|---|---|---|---|---|"]
    for i, g in enumerate(data.most_asked, 1):
        out.append(
            f"| {i} | {_md_escape(g.label)} | {g.count} | {len(g.readers - {''})} | {_pct(g.answered / g.count)} |"
        )
    out += [
        "",
        "## Per story",
        "",
        "| Story | Questions | Answered | Closest passage | Not covered | 👍 | 👎 | Helpful |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for slug, c in sorted(data.per_story.items(), key=lambda kv: -sum(kv[1][s] for s in OUTCOMES)):
        asked = sum(v for k, v in c.items() if k not in ("up", "down"))
        votes = c["up"] + c["down"]
        name = _md_escape(data.title(slug)) if slug else "(no story: not answered anywhere)"
        out.append(
            f"| {name} | {asked} | {c[ANSWERED]} | {c[CLOSEST]} | {c[NOT_COVERED]} | {c['up']} | {c['down']} | "
            f"{_pct(c['up'] / votes if votes else None)} |"
        )
    out += ["", "## Per day", "", "| Day (UTC) | Questions | Answered | Closest passage | Not covered |"]
    out.append("|---|---|---|---|---|")
    for day, c in sorted(data.per_day.items()):
        out.append(f"| {day} | {sum(c.values())} | {c[ANSWERED]} | {c[CLOSEST]} | {c[NOT_COVERED]} |")
    if data.quoted:
        out += [
            "",
            "## Most quoted paragraphs",
            "",
            "| Story | Paragraph now | Quoted | 👍 | 👎 |",
            "|---|---|---|---|---|",
        ]
        for q in data.quoted:
            out.append(f"| {_md_escape(data.title(q.story))} | {q.status} | {q.quoted} | {q.up} | {q.down} |")
    other = data.total - data.asked
    notes = [f"{other} empty or over-long messages are counted in the totals only."] if other else []
    if data.median_latency_ms is not None:
        notes.append(f"Median time to answer: {data.median_latency_ms:.0f} ms.")
    return "\n".join([*out, "", *(f"*{n}*" for n in notes), ""])


def chart(data: ReportData, path: Path) -> Path:
    """Three panels: questions per day (answered / closest passage / not covered), per story, and the top
    unanswered groups."""
    # A bare Figure on the Agg canvas, not pyplot: no global state, safe in the bot's executor threads.
    fig = Figure(figsize=(15, 5), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.2, 1, 1.3]})
    days = sorted(data.per_day)
    labels = [dt.date.fromisoformat(d).strftime("%b %d") for d in days]
    ax = axes[0]
    base = [0] * len(days)
    for status, colour, label in TIERS:
        counts = [data.per_day[d][status] for d in days]
        ax.bar(labels, counts, bottom=base, color=colour, label=label)
        base = [b + c for b, c in zip(base, counts)]
    ax.set_title("Questions per day (UTC)")
    ax.legend(loc="upper left", fontsize=8)
    ax.tick_params(axis="x", rotation=45, labelsize=8)

    stories = sorted(data.per_story, key=lambda s: sum(data.per_story[s][t] for t in OUTCOMES))[-8:]
    names = [textwrap.shorten(data.title(s) or "(no story)", 28, placeholder="…") for s in stories]
    ax = axes[1]
    base = [0] * len(stories)
    for status, colour, _ in TIERS:
        counts = [data.per_story[s][status] for s in stories]
        ax.barh(names, counts, left=base, color=colour)
        base = [b + c for b, c in zip(base, counts)]
    ax.set_title(f"Per story · helpful {_pct(data.helpful_rate)} ({data.up} up, {data.down} down)")
    ax.tick_params(axis="y", labelsize=8)

    top = data.unanswered[:8][::-1]
    ax = axes[2]
    ax.barh([textwrap.shorten(g.label, 45, placeholder="…") for g in top], [g.count for g in top], color=RED)
    ax.set_title("Not in the story: most asked")
    ax.tick_params(axis="y", labelsize=8)
    if not top:
        ax.text(0.5, 0.5, "no question was declined", ha="center", va="center", transform=ax.transAxes)
    for a in axes:
        a.spines[["top", "right"]].set_visible(False)
    axes[0].yaxis.set_major_locator(MaxNLocator(integer=True))
    for a in axes[1:]:
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(
        f"Reader questions, {_span(data)}: {data.total} asked, answered {_pct(data.answered_rate)}, "
        f"closest passage {_pct(data.closest_rate)}"
    )
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def discord_summary(data: ReportData, limit: int = 1900) -> str:
    """A short post for /report: the headline, the top unanswered groups and those met with the closest passage,
    within Discord's 2,000 characters.

    Questions and titles are escaped for Discord (bot.escaping), not as for the Markdown file: a reader's link or
    @everyone must not come out live in the bot's post."""
    lines = [f"**Reader questions** — {escape(headline(data))}"]
    if data.unanswered:
        lines.append("**The story didn't say:**")
        for g in data.unanswered[:8]:
            label = escape(textwrap.shorten(g.label, 120, placeholder="…"))
            lines.append(f"• “{label}” ×{g.count} ({_readers(g)})")
    if data.left_open:
        lines.append("**The story may leave open** (closest passage shown):")
        for item in data.left_open[:5]:
            label = escape(textwrap.shorten(item.group.label, 120, placeholder="…"))
            lines.append(f"• “{label}” ×{item.group.count} ({_readers(item.group)})")
    if data.most_asked:
        top = (f"“{escape(textwrap.shorten(g.label, 60, placeholder='…'))}” ×{g.count}" for g in data.most_asked[:3])
        lines.append("**Most asked:** " + "; ".join(top))
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: text.rfind("\n", 0, limit)]


def write_report(data: ReportData, out_dir: Path, stem: str | None = None) -> tuple[Path, Path]:
    """Write `<stem>.md` and `<stem>.png` into `out_dir`; the Markdown links the chart by its file name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = stem or f"questions-{data.until:%Y-%m-%d}" + (f"-{data.story}" if data.story else "")
    png = chart(data, out_dir / f"{stem}.png")
    md = out_dir / f"{stem}.md"
    md.write_text(markdown(data, png.name), encoding="utf-8")
    return md, png
