"""From a ranking to what gets quoted: which paragraphs, and which of their sentences, cut verbatim.

The first quote is the best paragraph's best sentence. A neighbouring sentence joins it when the ranker finds it
nearly as likely (`Weights.neighbour_ratio`) and the two fit in `MAX_QUOTE_CHARS`. Further paragraphs are quoted
only when they are nearly as likely as the first and likely enough on their own (`extra_quote_ok`).
"""

from __future__ import annotations

from .candidates import Candidates
from .models import Paragraph
from .ranking import MAX_QUOTE_CHARS, Ranking, Weights, sigmoid


def extra_quote_ok(weights: Weights, logit: float, margin: float) -> bool:
    """A 2nd or 3rd quote only when it is nearly as likely as the first and likely enough on its own."""
    cut = weights.extra_quote_min_logit
    return margin <= weights.extra_quote_margin and (cut is None or logit >= cut)


def quoted_paragraphs(r: Ranking, weights: Weights, top_k: int) -> list[tuple[int, int, float]]:
    """(paragraph position, its best sentence's position, logit margin behind the first) of each paragraph
    to quote, best first: at least one, at most `top_k`."""
    top_score = float(r.paragraph_score[r.paragraph_order[0]])
    chosen: list[tuple[int, int, float]] = []
    for rank_position, para_pos in enumerate(r.paragraph_order[: max(top_k, 1)]):
        para_pos = int(para_pos)
        margin = top_score - float(r.paragraph_score[para_pos])
        if rank_position and not extra_quote_ok(weights, float(r.paragraph_score[para_pos]), margin):
            break
        best = int(r.best_sentence[para_pos])
        if best >= 0:
            chosen.append((para_pos, best, margin))
    return chosen


def quote_text(paragraph: Paragraph, c: Candidates, r: Ranking, best: int, neighbour_ratio: float) -> str:
    """The best sentence, joined by a neighbour the ranker finds nearly as likely, cut verbatim from `paragraph`."""
    first = last = int(c.sentence_position[best])
    probability = _probabilities(c, r, best, (first - 1, first, first + 1))
    neighbours = sorted((first - 1, first + 1), key=lambda i: -probability.get(i, -1.0))
    for candidate in neighbours:
        if probability.get(candidate, -1.0) >= neighbour_ratio * probability[first]:
            lo, hi = min(first, candidate), max(last, candidate)
            if len(paragraph.span_text(lo, hi)) <= MAX_QUOTE_CHARS:
                first, last = lo, hi
                break
    text = paragraph.span_text(first, last)
    if len(text) > MAX_QUOTE_CHARS:
        cut = text.rfind(" ", 0, MAX_QUOTE_CHARS)
        text = text[: cut if cut > 0 else MAX_QUOTE_CHARS].rstrip(" ,;:")
    return text


def _probabilities(c: Candidates, r: Ranking, best: int, positions: tuple[int, ...]) -> dict[int, float]:
    """The ranker's probability for the sentences at `positions` of `best`'s paragraph, by position (a position the
    paragraph's candidates lack is left out)."""
    same = (c.sentence_paragraph == c.sentence_paragraph[best]).nonzero()[0]
    at = c.sentence_position[same]
    probability = {}
    for position in positions:
        held = same[at == position]
        if len(held):
            probability[position] = float(sigmoid(r.sentence_score[held[-1]]))  # the last, as a dict by position kept
    return probability
