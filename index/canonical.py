"""One question, one reading: the normal form the engine reads, so trivial variants get the same reply.

Readers ask the same question many ways: "How many are trapped?", "how many r trapped??", "hey bot, how many are
trapped pls 🙏", "How many are traped?". Everything the engine computes (the embedding, BM25 terms, the names it
looks for, the cross-encoder's reading) would move a little with each, and near a threshold a little is another
reply. So the engine reads one normal form (`QuestionForm.of`): what a chat wraps around a question goes, and what is
left is spelled one way:

- emoji and other symbols go; so do greetings and fillers at the start ("hey bot,", "quick question:", "pls") and
  tags at the end ("lol", "thx", "asking for a friend"), and the end's punctuation;
- chat spellings become words ("u" → "you", "ppl" → "people");
- case is the library's, not the reader's: a word the stories mostly capitalise ("Helmets") is capitalised, every
  other word is lower case, so "WHO PAINTED THE MONA LISA" and "who painted the mona lisa" read alike;
- a word that is neither in the stories nor in the model's English vocabulary, one edit away from a word that is,
  becomes that word ("evacuted" → "evacuated"), the stories' words first.

Applied after `clean_question` (links and Discord markup), by `Library`; the question a reader typed is kept as
typed in the answer and the log.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import chain
from pathlib import Path

from .tokens import CHAT_WORDS

__all__ = ["QuestionForm", "RecentReadings", "english_words"]

# Said before a question: greetings, addressing the bot, and fillers (one phrase a line; matched as whole words).
_OPENERS = """
hi|hey|hello|hiya|heya|howdy|yo|sup|greetings|morning|evening|afternoon|good morning|good afternoon|good evening
hey there|hi there|hello there|hey bot|hi bot|hello bot|bot|dear bot|hey guys|hi all|hey all|hi everyone
hey everyone|ok|okay|ok so|okay so|so|um|umm|uh|uhh|hmm|hm|erm|excuse me|sorry|quick question|question
real quick|just wondering|i was wondering|i wonder|can you tell me|could you tell me|can u tell me|tell me
do you know|do u know|does anyone know|anyone know|i wanna know|i want to know|i'd like to know|id like to know
pls|please|plz|pleasee|btw|also|and also|like|just
"""
# Said after a question: thanks, laughter, tags.
_CLOSERS = """
lol|lool|lmao|lmfao|rofl|haha|hahaha|hehe|thx|thanks|thank you|thank u|thanks a lot|thanks in advance|ty|tia
cheers|pls|please|plz|pleasee|asking for a friend|anyone|anybody|someone|idk|tbh|ngl|fr|srsly|seriously|help
pls help|please help|bot|guys|again|now please|just curious|curious|btw|anyway|anyways|ok|okay|k|lmk
"""


def _phrases(block: str) -> str:
    """An alternation of the block's phrases, longest first, with any run of white space between their words."""
    phrases = sorted({p.strip() for p in block.replace("\n", "|").split("|") if p.strip()}, key=len, reverse=True)
    return "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in phrases)


_SEP = r"[\s,.!:;~\-–—]*"
_OPENER = re.compile(rf"^(?:{_phrases(_OPENERS)})\b{_SEP}")
_CLOSER = re.compile(rf"{_SEP}\b(?:{_phrases(_CLOSERS)})$")
_END_PUNCT = re.compile(r"[\s?!.,;:~]+$")
_RUNS = re.compile(r"([?!.,])[?!.,]+")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_SYMBOL_CATEGORIES = {"So", "Sk", "Cn", "Co", "Cs"}


_CLOSER_ENDS = tuple({p.split()[-1] for p in _CLOSERS.replace("\n", "|").split("|") if p.strip()})
_END_CHARS = frozenset("?!.,;:~")
_KEPT = 1 << 16  # characters and words whose reading is kept (memory stays bounded, whatever readers type)


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch) in _SYMBOL_CATEGORIES or ch in "\ufe0f\ufe0e\u200d\u20e3"


class _Unsymbolled(dict[int, str]):
    """A `str.translate` table: a symbol (`_is_symbol`) to a space, ’ to ', any other character to itself, each
    looked up once (a question's characters were `_is_symbol`'s 50 calls a question)."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        out = " " if _is_symbol(ch) else "'" if ch == "’" else ch
        if len(self) < _KEPT:
            self[code] = out
        return out


_UNSYMBOLLED = _Unsymbolled()


@lru_cache(maxsize=1)
def english_words() -> dict[str, int]:
    """Whole lower-case words of the packaged MiniLM's vocabulary (about 21,700), words not to "correct", each with
    its place in the vocabulary: BERT's word pieces are listed by frequency, so a lower place is a commoner word."""
    from .embedder import DEFAULT_MODEL, resolve_model

    try:
        lines = (Path(resolve_model(DEFAULT_MODEL)) / "vocab.txt").read_text(encoding="utf-8").split("\n")
    except OSError:  # pragma: no cover - the model package is a dependency
        return {}
    return {w: i for i, w in enumerate(lines) if w.isalpha() and not w.startswith("##")}


def _edits(word: str) -> set[str]:
    """Every string one edit from `word`: a letter dropped, swapped with its neighbour, replaced or inserted."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return (
        {a + b[1:] for a, b in splits if b}
        | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
        | {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
        | {a + c + b for a, b in splits for c in _LETTERS}
    )


FORM_VERSION = 1  # of what `QuestionForm.of` finds; a stored form of another version is made again from the stories


@dataclass(frozen=True)
class QuestionForm:
    """The normal form of questions for one library: its words' usual case and spelling (see the module docstring)."""

    library_words: Counter[str]  # lower-cased word -> count in the stories
    capitalised: frozenset[str]  # lower-cased words the stories mostly capitalise (outside a sentence's start)

    @classmethod
    def of(cls, texts: Iterable[str]) -> QuestionForm:
        counts: Counter[str] = Counter()
        upper: Counter[str] = Counter()
        for text in texts:
            for i, m in enumerate(_WORD.finditer(text.replace("’", "'"))):
                word = m.group(0)
                low = word.lower()
                counts[low] += 1
                if i and word[0].isupper() and text[max(m.start() - 2, 0) : m.start()].strip() not in {".", "?", "!"}:
                    upper[low] += 1
        capitalised = frozenset(w for w, n in upper.items() if n * 2 > counts[w])
        return cls(counts, capitalised)

    def to_json(self) -> str:
        """What a build stores (`index.store.QUESTION_FORM`): making the form reads every word of the library, 0.9 s
        for 10,000 paragraphs, which serving would otherwise pay on its first question."""
        words, capitalised = dict(self.library_words), sorted(self.capitalised)
        return json.dumps({"version": FORM_VERSION, "words": words, "capitalised": capitalised}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> QuestionForm | None:
        """The form `to_json` wrote; None when another version of `of` wrote it (make it again from the stories)."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != FORM_VERSION:
            return None
        return cls(Counter(data["words"]), frozenset(data["capitalised"]))

    def normal(self, question: str) -> str:
        """The question as the engine reads it; the same for every trivial variant of it (idempotent)."""
        text = " ".join(question.translate(_UNSYMBOLLED).split()).lower()
        previous = None
        while previous != text:  # openers and closers can nest: "hey, pls, how many ... thx lol"
            previous = text
            text = _OPENER.sub("", text)
            # Only a text ending in a closer's last word can end in a closer, and only one ending in white space or
            # punctuation in _END_PUNCT: the tests skip a regular expression tried at every position (no text has
            # a newline here, where `$` would match too: split() took them out).
            if text.endswith(_CLOSER_ENDS):
                text = _CLOSER.sub("", text)
            if text and (text[-1] in _END_CHARS or text[-1].isspace()):
                text = _END_PUNCT.sub("", text)
        text = _RUNS.sub(r"\1", text)
        return _WORD.sub(self._mend, text).strip()

    @cached_property
    def _mended(self) -> dict[str, str]:
        """The words `_word` has read, kept: it is a function of the word, and a question's words are mostly known."""
        return {}

    def _mend(self, match: re.Match[str]) -> str:
        word = match.group(0)
        out = self._mended.get(word)
        if out is None:
            out = self._word(word)
            if len(self._mended) < _KEPT:
                self._mended[word] = out
        return out

    def _word(self, word: str) -> str:
        word = CHAT_WORDS.get(word, word)
        word = self._spelled(word)
        return word.capitalize() if word in self.capitalised else word

    @cached_property
    def _longest_known(self) -> int:
        """The longest word a typo can be mended to: one edit changes a word's length by one letter at most."""
        return max(map(len, chain(self.library_words, english_words())), default=0)

    def _spelled(self, word: str) -> str:
        """The word, or the word one edit away that the reader most likely meant: the stories' commonest such word,
        else (for words of 4 letters or more, where one edit rarely lands on a second real word) the commonest
        English one."""
        english = english_words()
        if len(word) < 3 or len(word) > self._longest_known + 1 or not word.isalpha():
            return word  # past the longest known word plus one, no word is one edit away (60,000 edits a 1,000-letter word)
        if word in self.library_words or word in english:
            return word
        candidates = _edits(word)
        in_library = [w for w in candidates if w in self.library_words]
        if in_library:
            return max(sorted(in_library), key=lambda w: self.library_words[w])
        in_english = [w for w in candidates if w in english]
        return min(in_english, key=lambda w: english[w]) if in_english and len(word) >= 4 else word


class RecentReadings:
    """The readings of the last `size` questions, oldest dropped first, safe to share between threads: `ask --batch`
    reads each line twice (once to encode it ahead on a thread, once to answer it), and a normal form costs a
    tenth of a millisecond."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._kept: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, question: str, read: Callable[[str], str]) -> str:
        """The kept reading of `question`, else `read(question)`, kept from now on."""
        with self._lock:
            reading = self._kept.get(question)
        if reading is None:
            reading = read(question)
            with self._lock:
                self._kept[question] = reading
                if len(self._kept) > self.size:
                    self._kept.popitem(last=False)
        return reading
