"""Tokenisation for BM25 and the ranker's word features: stemmed terms that keep names, figures and hyphens whole.

"115,000" and "115000" are one term, "Israeli-led" gives "isra" and "led", "ppl" means "people". Stop words,
including the words that frame a question rather than say what it is about ("how many"), are dropped.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Protocol

_WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
_FUNCTION_WORDS = """
    a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her
    here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
    now of off on once only or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves s t
"""
# words that frame a question rather than say what it is about ("how many", "what kind of")
_FRAMING_WORDS = """
    many much often kind type sort whose also happen happened happens tell know please pls
"""
STOPWORDS = frozenset(_FUNCTION_WORDS.split() + _FRAMING_WORDS.split())
# Chat spellings readers use; mapped before stemming so "ppl" finds "people".
CHAT_WORDS = {
    "ppl": "people",
    "govt": "government",
    "gov": "government",
    "u": "you",
    "ur": "your",
    "r": "are",
    "bc": "because",
    "cuz": "because",
    "abt": "about",
    "tho": "though",
    "wat": "what",
    "wht": "what",
    "y": "why",
}


class _Stemmer(Protocol):
    def stemWords(self, words: list[str]) -> list[str]: ...


@lru_cache(maxsize=1)
def _stemmer() -> _Stemmer:
    """PyStemmer's English (Porter 2) stemmer, made on first use."""
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Stemmed, lower-cased terms; '115,000' becomes '115000', 'Israeli-led' gives 'isra' and 'led'."""
    text = unicodedata.normalize("NFKC", text).lower()
    terms = [_term(word, keep_stopwords) for word in _WORD.findall(text)]
    return [t for t in terms if t is not None]


@lru_cache(maxsize=1 << 16)
def _term(word: str, keep_stopwords: bool) -> str | None:
    """The term one matched word gives (None: a stop word), made once per word: a word's term does not depend on
    its neighbours (the stemmer stems each word alone), and questions and sentences repeat their words."""
    word = word.replace("’", "'")
    if word[0].isdigit():
        return word.replace(",", "").rstrip(".")
    word = word.split("'")[0]
    word = CHAT_WORDS.get(word, word)
    if keep_stopwords or (word not in STOPWORDS and len(word) > 1):
        return word if word[0].isdigit() else _stemmer().stemWords([word])[0]
    return None


def _tokenize_per_text(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """`tokenize` as it was, a text at a time: the reference its per-word cache is tested against."""
    text = unicodedata.normalize("NFKC", text).lower()
    words = []
    for match in _WORD.finditer(text):
        word = match.group(0).replace("’", "'")
        if word[0].isdigit():
            words.append(word.replace(",", "").rstrip("."))
            continue
        word = word.split("'")[0]
        word = CHAT_WORDS.get(word, word)
        if keep_stopwords or (word not in STOPWORDS and len(word) > 1):
            words.append(word)
    return [w if w[0].isdigit() else s for w, s in zip(words, _stemmer().stemWords(words))]
