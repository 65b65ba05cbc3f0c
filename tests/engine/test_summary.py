"""Summaries: the sentence chooser on hand-made vectors, Library.summary on real stories, and the ROUGE benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import summary as bench
from index import Encoder, Library
from index.stories import parse_story
from index.summarise import DEFAULT_WEIGHTS, choose_sentences, directed_centrality, prose_words

from ..conftest import SEED_SLUG

DATA = Path(__file__).parent.parent / "data" / "summary-articles.jsonl"


def _unit(rows: list[list[float]]) -> np.ndarray:
    vectors = np.asarray(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _basis(n: int, dim: int = 16) -> np.ndarray:
    return np.eye(dim, dtype=np.float32)[:n]


# ---------------------------------------------------------------- the chooser
def test_unrelated_sentences_fall_back_to_the_lead() -> None:
    assert sorted(choose_sentences(_basis(8), 3)) == [0, 1, 2]


def test_the_lead_prior_outweighs_a_late_echo() -> None:
    vectors = _basis(8)
    vectors[7] = _unit([[0.0] * 6 + [0.5, 1.0] + [0.0] * 8])[0]  # the last sentence echoes the one before it
    assert directed_centrality(vectors).argmax() == 6
    assert sorted(choose_sentences(vectors, 2)) == [0, 1]


def test_fewer_sentences_than_asked_returns_them_all_once() -> None:
    assert sorted(choose_sentences(_basis(2), 5)) == [0, 1]
    assert choose_sentences(_basis(3), 0) == []
    assert choose_sentences(np.zeros((0, 16), dtype=np.float32), 3) == []


def test_a_sentence_echoed_by_later_ones_outranks_its_echo() -> None:
    topic = [1.0, 0.2, 0, 0]
    vectors = _unit([topic, [1.0, 0, 0.2, 0], [0, 0, 0, 1.0], [1.0, 0, 0, 0.2]])
    centrality = directed_centrality(vectors)
    assert centrality[0] == pytest.approx(1.0)
    assert centrality[0] > centrality[1]
    assert centrality[3] < 0  # it only repeats what came before


def test_centrality_can_overrule_position_among_the_first_sentences() -> None:
    # Sentence 2 is off the story's subject; sentence 3 is the subject every later sentence returns to.
    rows = [list(v) for v in _basis(3)] + [[0.0] * 16 for _ in range(7)]
    for i in range(3, 10):
        rows[i][5] = 1.0
        rows[i][6 + i] = 0.6 if i > 3 else 0.0
    picks = choose_sentences(_unit(rows), 3)
    assert 3 in picks and 2 not in picks


def test_a_near_duplicate_is_not_quoted_twice() -> None:
    vectors = _basis(6)
    vectors[1] = vectors[0]
    picks = choose_sentences(vectors, 3)
    assert not {0, 1} <= set(picks)


def test_bylines_and_time_stamps_are_passed_over_and_do_not_push_the_lead_down() -> None:
    texts = [
        "By . Associated Press .",
        "PUBLISHED: . 14:11 EST, 25 October 2013 .",
        "A bishop in North Dakota has urged parishioners to help refugees arriving this winter.",
        "The diocese said it would open three shelters before the end of November.",
        "Volunteers have already collected more than 2,000 coats for the families.",
    ]
    words = [prose_words(t) for t in texts]
    assert words[0] < DEFAULT_WEIGHTS.min_words and words[1] < DEFAULT_WEIGHTS.min_words
    assert sorted(choose_sentences(_basis(5), 3, words=words)) == [2, 3, 4]
    # Even a byline that every later sentence echoes (the reporter's name keeps coming up) is passed over.
    echoed = _unit(
        [[1.0, 0, 0, 0, 0, 0]] + [[0.8] + [1.0 if j == i else 0.0 for j in range(1, 6)] for i in range(1, 5)]
    )
    assert directed_centrality(echoed).argmax() == 0
    assert 0 not in choose_sentences(echoed, 3, words=[3, 12, 12, 12, 12])
    # A story of nothing but short lines (or in a script without case) keeps its lead prior.
    late_echo = _basis(8)
    late_echo[7] = _unit([[0.0] * 6 + [0.5, 1.0] + [0.0] * 8])[0]
    assert sorted(choose_sentences(late_echo, 2, words=[prose_words("救援人员仍被困在叙利亚。")] * 8)) == [0, 1]


def test_prose_words_count_words_with_lower_case_letters_in_any_alphabet() -> None:
    assert prose_words("By . Associated Press .") == 3
    assert prose_words("PUBLISHED: . 14:11 EST, 25 October 2013 .") == 1
    assert prose_words("Überschwemmungen zwangen Hunderte Familien, ihre Häuser zu verlassen.") == 8
    assert prose_words("Сотни семей покинули дома.") == 4


# ---------------------------------------------------------------- Library.summary
def _story_sentences(library: Library, slug: str) -> list[tuple[int, str]]:
    story = library.story(slug)
    return [(p.number, p.sentence_text(i)) for p in story.paragraphs for i in range(len(p.sentences))]


@pytest.mark.parametrize("count", [1, 2, 5, 10, 40])
def test_summary_lengths_are_verbatim_in_order_and_capped_by_the_story(library: Library, count: int) -> None:
    sentences = _story_sentences(library, SEED_SLUG)
    summary = library.summary(SEED_SLUG, sentences=count)
    assert len(summary.quotes) == min(count, len(sentences))
    positions = [sentences.index((q.paragraph, q.text)) for q in summary.quotes]  # raises if not verbatim
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert all(q.sources == ["NPR", "CNN"] and q.story == SEED_SLUG for q in summary.quotes)


def test_summary_of_the_seed_story_opens_with_its_lead(library: Library) -> None:
    first = library.summary(SEED_SLUG, sentences=3).quotes[0]
    assert (first.paragraph, first.text) == _story_sentences(library, SEED_SLUG)[0]


def test_summary_needs_at_least_one_sentence(library: Library) -> None:
    with pytest.raises(ValueError, match="at least one sentence"):
        library.summary(SEED_SLUG, sentences=0)


def test_short_story_with_a_byline_paragraph(tmp_path: Path, encoder: Encoder) -> None:
    path = tmp_path / "ferry.txt"
    path.write_text(
        "By Staff Reporter.\n\nThe island ferry will stop running on Sundays from May, its operator said.\n\n"
        "Original Source(s): Island Times\n",
        encoding="utf-8",
    )
    story = parse_story(path)
    library = Library.from_stories([story], encoder)
    one = library.summary(story.slug, sentences=1)
    assert [(q.paragraph, q.text) for q in one.quotes] == [
        (2, "The island ferry will stop running on Sundays from May, its operator said.")
    ]
    everything = library.summary(story.slug, sentences=3)
    assert [q.paragraph for q in everything.quotes] == [1, 2] and everything.sources == ["Island Times"]


# ---------------------------------------------------------------- the benchmark
def test_rouge_is_100_for_the_reference_and_0_with_nothing_shared() -> None:
    articles = {a.id: a for a in bench.load_articles(DATA)}
    bridge = articles["harbour-bridge-closure"]
    perfect = bench.rouge([(" ".join(bench.lead(bridge, 3)), bridge.reference)])
    assert perfect == pytest.approx(dict.fromkeys(bench.ROUGE_TYPES, 100.0))
    unrelated = bench.rouge([("Ducks swim quietly tonight.", bridge.reference)])
    assert unrelated["rouge2"] == 0.0 and unrelated["rouge1"] < 5
    # Stemming: "closes" and "closing" meet "close".
    stemmed = bench.rouge([("bridge closes", "bridge closing")])
    assert stemmed["rouge1"] == pytest.approx(100.0)


def test_benchmark_scores_every_summary_on_the_same_articles(encoder: Encoder) -> None:
    articles = bench.load_articles(DATA)
    results = bench.evaluate(articles, encoder)
    assert list(results.rouge) == ["project (3 sentences)", "Lead-3", "centroid + MMR, no position"]
    lead_by_hand = bench.rouge([(" ".join(a.sentences[:3]), a.reference) for a in articles])
    assert results.rouge["Lead-3"] == pytest.approx(lead_by_hand)
    for scores in results.rouge.values():
        assert all(0 < scores[k] < 100 for k in bench.ROUGE_TYPES)
    # With the lead prior alone the project quotes Lead-3, except on the article that opens with a byline.
    prior_only = bench.evaluate(articles, encoder, weights=bench.parse_weights(["centrality=0", "position=10"]))
    assert (prior_only.articles, prior_only.same_as_lead) == (6, 5)


def test_benchmark_command_prints_the_table(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], encoder: Encoder, tmp_path: Path
) -> None:
    monkeypatch.setattr(bench, "load_encoder", lambda model, adapter: encoder)
    two = tmp_path / "two.jsonl"
    two.write_text("".join(DATA.read_text(encoding="utf-8").splitlines(keepends=True)[:2]), encoding="utf-8")
    assert bench.main(["--data", str(two)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 articles") and "| Lead-3 |" in out and "| project (3 sentences) |" in out
    assert "identical to the lead sentences: " in out

    assert bench.main(["--data", str(two), "--set", "positon=1"]) == 2
    assert "no weight 'positon'" in capsys.readouterr().err

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "article_sentences": ["One."]}) + "\n", encoding="utf-8")
    assert bench.main(["--data", str(bad)]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err


def test_a_summary_without_a_story_names_a_few_of_many(tmp_path: Path, encoder: Encoder) -> None:
    """Issue 19 item 7: on 10,000 stories the error listed every slug, one 80,044-character line."""
    from index import build_index

    content = tmp_path / "content"
    content.mkdir()
    for n in range(40):
        (content / f"council-budget-story-{n:02}.txt").write_text(f"The council met on day {n}.\n", encoding="utf-8")
    build_index(content, tmp_path / "index", encoder=encoder)
    with pytest.raises(ValueError) as refused:
        Library.load(tmp_path / "index", encoder=encoder).summary()
    message = str(refused.value)
    assert message.startswith("40 stories are indexed: name one") and "40 in all" in message
    assert message.count("council-budget-story-") == 5 and len(message) < 300, message
