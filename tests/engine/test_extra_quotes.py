"""Second and third quotes: shown only when the ranker's own logit clears the fitted cut."""

from __future__ import annotations

import numpy as np

from index import Library
from index.ranking import load_weights
from training.extra_quotes import NEVER, fit_cut

from ..conftest import SEED_SLUG

TRAPPED = "How many White Helmets are still trapped in Syria?"


def _with(library: Library, **changes: object) -> Library:
    return Library(library.data, library.encoder, library.weights.model_copy(update=changes))


def test_extra_quotes_need_their_own_logit_to_clear_the_cut(library: Library) -> None:
    loose = _with(library, extra_quote_min_logit=None, extra_quote_margin=100.0)
    strict = _with(library, extra_quote_min_logit=NEVER, extra_quote_margin=100.0)
    assert len(loose.ask(TRAPPED, SEED_SLUG).quotes) == 3  # the margin alone lets every paragraph in
    answer = strict.ask(TRAPPED, SEED_SLUG)
    assert len(answer.quotes) == 1 and answer.quotes[0].paragraph == 1


def test_shipped_weights_do_not_quote_the_unrelated_lives_saved_paragraph(library: Library) -> None:
    paragraphs = [q.paragraph for q in library.ask(TRAPPED, SEED_SLUG).quotes]
    assert paragraphs[0] == 1 and 3 not in paragraphs
    assert load_weights().extra_quote_min_logit is not None


def test_fit_cut_is_the_lowest_logit_meeting_the_precision() -> None:
    logits = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.0])
    right = np.array([True, True, True, True, False, False])
    assert fit_cut(logits, right, 0.8, least=1) == 1.0  # 4 of 5 at or above 1.0
    assert fit_cut(logits, right, 0.8, least=6) == NEVER  # 4 of 6 is not enough
    assert fit_cut(logits, ~right, 0.8, least=1) == NEVER
