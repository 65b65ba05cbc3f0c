"""Cues: what a question asks for and what a sentence holds, read from their text alone by fixed patterns.

A question's kind ("how many", "when", "who", ...) and the names it is about, and a sentence's cues (a figure, a
year, a date, a name, a measure, a cause, a place, a naming, a quote). The build computes every sentence's cues once
(`index.sentence_inputs`, which records `CUE_PATTERNS` so a change of pattern is seen); `index.candidates` reads
the question's kind and names; `index.features` crosses kind with cues for the ranker. Fixed patterns, nothing fitted:
apart from the features (matrices over `Candidates`), so candidates read cues and features read candidates, one way.
"""

from __future__ import annotations

import re

import numpy as np

_NUMBER_WORDS = r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundreds?"
_CUES = {
    "number": re.compile(rf"\d|\b(?:{_NUMBER_WORDS}|thousands?|millions?|billions?|dozens?)\b", re.I),
    "year": re.compile(r"\b(?:1[0-9]{3}|20[0-9]{2})s?\b|\bcentury\b|\bdecades?\b"),
    "date": re.compile(
        r"\b(?:january|february|march|april|may|june|july|august|september|october|november|december|"
        r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday|ago|since|until|during|"
        r"before|after)\b",
        re.I,
    ),
    "name": re.compile(r"(?<=[a-z,;:] )[A-Z][\w’'-]+"),
    "measure": re.compile(
        r"%|\bper ?cent\b|[$£€¥]|\b(?:dollars?|pounds|euros?|miles?|km|kilometres?|kilometers?|"
        r"metres?|meters?|feet|tons?|acres?|square)\b",
        re.I,
    ),
    "cause": re.compile(r"\b(?:because|due to|since|as a result|so that|in order to|reasons?|caused?|led to)\b", re.I),
    "place": re.compile(r"\b(?:in|at|near|from|to|across|outside|inside)\s+(?:the\s+)?[A-Z]"),
    "naming": re.compile(r"\b(?:called|named|known as|termed|refers? to|means?)\b", re.I),
    "quote": re.compile(r"[\"“”]|\bsaid\b|\bsays\b|\btold\b", re.I),
}
CUE_NAMES = tuple(_CUES)
CUE_PATTERNS = tuple((p.pattern, int(p.flags)) for p in _CUES.values())  # what builds record they matched with
QUESTION_KINDS = ("how_many", "when", "who", "where", "why", "what", "how", "other")
_KIND_PATTERNS = (
    (
        "how_many",
        re.compile(
            r"\bhow\s+(?:many|much|long|old|far|large|big|often|tall|high)\b|"
            r"\bwhat\s+(?:number|percentage|amount|proportion|size)\b",
            re.I,
        ),
    ),
    (
        "when",
        re.compile(
            r"\bwhen\b|\bwhat\s+(?:year|date|day|month|time|century|decade|period)\b|"
            r"\b(?:which|what)\s+year\b",
            re.I,
        ),
    ),
    (
        "who",
        re.compile(r"\bwho(?:m|se)?\b|\b(?:which|what)\s+(?:person|man|woman|group|organi[sz]ation|company)\b", re.I),
    ),
    ("where", re.compile(r"\bwhere\b|\b(?:which|what)\s+(?:country|city|place|state|region|area|town)\b", re.I)),
    ("why", re.compile(r"\bwhy\b|\bwhat\s+(?:caused|reason)\b", re.I)),
    ("what", re.compile(r"\bwhat\b|\bwhich\b", re.I)),
    ("how", re.compile(r"\bhow\b", re.I)),
)


_NAME_IN_QUESTION = re.compile(r"(?<=\S )[A-Z][\w’'-]*")


def question_names(question: str) -> str:
    """The capitalised words after the first: names the question is about ("Mona Lisa", "White Helmets")."""
    return " ".join(_NAME_IN_QUESTION.findall(question))


def question_kind(question: str) -> int:
    """Index into QUESTION_KINDS of what the question asks for."""
    for name, pattern in _KIND_PATTERNS:
        if pattern.search(question):
            return QUESTION_KINDS.index(name)
    return QUESTION_KINDS.index("other")


def sentence_cues(sentence: str) -> np.ndarray:
    return np.array([1.0 if p.search(sentence) else 0.0 for p in _CUES.values()], dtype=np.float32)
