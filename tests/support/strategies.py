"""Hypothesis strategies for hostile input: story files an editor (or an accident) could drop in, and
questions readers (or trolls) could type. Shared by the engine and the Discord fuzz tests.

Runs are derandomized under CI (the same examples every run, so CI is never flaky) and random on a
developer's machine (new examples every run, so fuzzing keeps finding things).
"""

from __future__ import annotations

import datetime as dt
import os

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def fuzz(examples: int) -> settings:
    """Settings for a fuzz test: no deadline (the machine is shared), reproducible under CI."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=bool(os.environ.get("CI")),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    )


ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=300)
WORDS = st.lists(
    st.sampled_from(["rescue", "Syria", "115,000", "U.S.", "Mr.", "said", "the", "3.5", "Dr.", "border", "¶", "—"])
    | st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=12),
    min_size=1,
    max_size=40,
)
SENTENCE = st.builds(lambda ws, end: " ".join(ws) + end, WORDS, st.sampled_from([".", "?", "!", "", '."', "…"]))
PARAGRAPH = st.lists(SENTENCE, min_size=1, max_size=6).map(" ".join)
HUGE_PARAGRAPH = st.builds(
    lambda sentence, size, newlines: ((sentence + ("\n" if newlines else " ")) * size)[: size * 20],
    SENTENCE,
    st.integers(1000, 3000),  # 20 to 60 kB in one paragraph
    st.booleans(),
)

YAML_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | ANY_TEXT
    | st.dates(min_value=dt.date(1, 1, 1))
    | st.just("2018-13-45"),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=8,
)
META_KEY = st.sampled_from(["title", "slug", "byline", "url", "published", "date", "sources", "tags"]) | ANY_TEXT


def _dump(meta: dict[object, object]) -> str:
    return yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)


FRONT_MATTER = st.one_of(
    st.dictionaries(META_KEY, YAML_VALUE, max_size=6).map(_dump),  # valid YAML, hostile values
    st.dictionaries(st.sampled_from(["title", "slug", "sources"]), ANY_TEXT, max_size=3).map(_dump),
    ANY_TEXT,  # anything at all between the fences: often not YAML
    st.sampled_from(
        [
            "title: [unclosed\n",
            "published: 2018-13-45\n",
            "slug: Not A Slug!\n",
            "- a list\n- not a mapping\n",
            "a: &x [1]\nb: *x\nslug: *x\n",
            "title: !!python/object:os.system x\n",
            "\t: tab\n",
        ]
    ),
)


@st.composite
def story_text(draw: st.DrawFn, huge: bool = True) -> str:
    """A story-shaped text: maybe front matter (maybe unclosed), a heading, paragraphs, a sources line."""
    parts = []
    if draw(st.booleans()):
        closed = draw(st.booleans())
        parts.append("---\n" + draw(FRONT_MATTER) + ("\n---\n" if closed else "\n"))
    if draw(st.booleans()):
        parts.append("# " + draw(ANY_TEXT) + "\n")
    paragraphs = draw(st.lists(PARAGRAPH | ANY_TEXT | (HUGE_PARAGRAPH if huge else PARAGRAPH), max_size=6))
    parts.append(draw(st.sampled_from(["\n\n", "\n \n", "\n\u00a0\n", "\n"])).join(paragraphs))
    if draw(st.booleans()):
        parts.append("\n\nOriginal Source(s): " + draw(st.sampled_from(["NPR; CNN", "AP", "", ";;", "a, b"])))
    return "\n".join(parts)


@st.composite
def story_bytes(draw: st.DrawFn, huge: bool = True) -> bytes:
    """Raw story-file bytes: story-shaped or random text in odd encodings and line endings, binary, empty."""
    kind = draw(st.sampled_from(["story", "story", "story", "unicode", "binary", "empty", "nul"]))
    if kind == "binary":
        return draw(st.binary(max_size=2000))
    if kind == "empty":
        return draw(st.sampled_from([b"", b"\n\n\n", b"   \t\n", "\ufeff".encode(), b"---\n---\n"]))
    text = draw(story_text(huge) if kind != "unicode" else ANY_TEXT)
    if kind == "nul":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + "\x00" + text[at:]
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = text.replace("\n", newline)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


FILE_NAME = st.one_of(
    st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True),
    st.text(
        st.characters(codec="utf-8", exclude_characters="/\x00", exclude_categories=["Cs"]), min_size=1, max_size=20
    )
    .map(lambda name: name.replace(".", "_"))
    .filter(lambda name: name.strip() and name.encode() and len(name.encode()) < 200),
).map(lambda stem: stem + ".md")

# ---------------------------------------------------------------- questions
EMOJI = st.sampled_from(["😀", "👍🏽", "🇸🇾", "❤️", "🧑‍🚒", "🤔", "🔥🔥🔥"])
ZERO_WIDTH = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e"])
INJECTION = st.sampled_from(
    [
        "@everyone",
        "@here",
        "<@&123456789012345678>",
        "<@123456789012345678>",
        "<#123456789012345678>",
        "[click](https://evil.example/x)",
        "https://evil.example/phish",
        "```py\nprint('hi')\n```",
        "`code`",
        "**bold** __under__ ~~strike~~ ||spoiler||",
        "> quote\n> more",
        "<:emoji:123456789012345678>",
        "</ask:123456789012345678>",
        "# Heading",
        "-# subtext",
        "\\",
    ]
)
OTHER_LANGUAGES = st.sampled_from(
    [
        "¿Cuántos cascos blancos siguen atrapados en Siria?",
        "Combien de Casques blancs sont encore piégés en Syrie ?",
        "كم عدد الخوذ البيضاء المحاصرين في سوريا؟",
        "有多少白头盔仍被困在叙利亚？",
        "Сколько «Белых касок» всё ещё в ловушке в Сирии?",
        "シリアにはまだ何人のホワイトヘルメットが閉じ込められていますか？",
        "סוריה",
        "नमस्ते",
    ]
)
ON_TOPIC = st.sampled_from(
    ["How many White Helmets are still trapped in Syria?", "Who evacuated the rescue workers?", "How many lives saved?"]
)


@st.composite
def hostile_question(draw: st.DrawFn) -> str:
    """Questions that should get a polite reply: empty, blank, huge, emoji, injections, invisible characters."""
    kind = draw(
        st.sampled_from(["empty", "blank", "huge", "emoji", "inject", "zero-width", "language", "any", "mixed"])
    )
    if kind == "empty":
        return ""
    if kind == "blank":
        return draw(st.text(st.sampled_from(" \t\n\r\u00a0\u2003\u3000"), max_size=50))
    if kind == "huge":
        return draw(ON_TOPIC | ANY_TEXT) + " " + "x" * draw(st.integers(1000, 10_000))
    if kind == "emoji":
        return "".join(draw(st.lists(EMOJI, min_size=1, max_size=30)))
    if kind == "inject":
        return " ".join(draw(st.lists(INJECTION | ON_TOPIC, min_size=1, max_size=5)))
    if kind == "zero-width":
        question = draw(ON_TOPIC | EMOJI)
        return draw(ZERO_WIDTH).join(question) if draw(st.booleans()) else "".join(draw(st.lists(ZERO_WIDTH)))
    if kind == "language":
        return draw(OTHER_LANGUAGES)
    if kind == "any":
        return draw(st.text(st.characters(codec="utf-8"), max_size=2000))
    return " ".join(draw(st.lists(ON_TOPIC | INJECTION | EMOJI | ZERO_WIDTH | OTHER_LANGUAGES | ANY_TEXT, max_size=6)))
