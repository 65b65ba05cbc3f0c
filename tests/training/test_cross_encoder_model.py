"""The cross-encoder's training command: its pairs, a tiny end-to-end run, and the merge of its file into the model."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pytest

from index.cross_encoder import CrossEncoderFile, merged_model
from training.cross_encoder_data import NEVER_TRAIN_V2, article_pairs, article_text

PARAGRAPHS = [
    "The bridge opened in 1932. It carries six lanes of traffic. Engineers painted it grey to resist rust.",
    "Ferries crossed the harbour before the bridge. The last ferry sailed in 1951. Tourists still ride replicas.",
]


def squad(title: str, questions: list[tuple[int, str, str | None]]) -> dict:
    """One SQuAD-shaped article; an answer of None makes the question unanswerable (SQuAD 2.0)."""
    paragraphs = [{"context": text, "qas": []} for text in PARAGRAPHS]
    for number, (paragraph, question, answer) in enumerate(questions):
        qa: dict = {"id": f"{title}-{number}", "question": question, "is_impossible": answer is None}
        qa["answers"] = [] if answer is None else [{"text": answer, "answer_start": 0}]
        paragraphs[paragraph]["qas"].append(qa)
    return {"title": title, "paragraphs": paragraphs}


QUESTIONS = [
    (0, "When did the bridge open?", "1932"),
    (0, "How many lanes does the bridge carry?", "six"),
    (1, "When did the last ferry sail?", "1951"),
    (1, "When did the last bridge sail?", None),
]


def test_pairs_label_answer_sentences_and_never_a_sentence_holding_an_answer_as_negative() -> None:
    article = article_text(squad("Bridge", QUESTIONS))
    other = article_text(squad("Other", QUESTIONS[:1]))
    pairs = article_pairs(article, [other], None, random.Random(1))
    positives = {(p.question, p.sentence) for p in pairs if p.label == 1.0}
    assert positives == {
        ("When did the bridge open?", "The bridge opened in 1932."),
        ("How many lanes does the bridge carry?", "It carries six lanes of traffic."),
        ("When did the last ferry sail?", "The last ferry sailed in 1951."),
    }
    negatives = [p for p in pairs if p.label == 0.0]
    assert not [p for p in negatives if p.question == "When did the bridge open?" and "1932" in p.sentence]
    unanswerable = [p for p in pairs if p.question == "When did the last bridge sail?"]
    assert unanswerable and {p.label for p in unanswerable} == {0.0}
    assert {p.sentence for p in unanswerable} <= set(PARAGRAPHS[1].replace(". ", ".\n").splitlines())


def write_gz(path: Path, articles: list[dict]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump({"data": articles}, handle)
    return path


@pytest.mark.slow
def test_tiny_training_run_writes_a_cross_encoder_the_model_loads(tmp_path: Path) -> None:
    from training import cross_encoder

    v1 = write_gz(tmp_path / "v1.json.gz", [squad(f"A{i}", QUESTIONS[:3]) for i in range(3)])
    dev = NEVER_TRAIN_V2[0]
    v2 = write_gz(tmp_path / "v2.json.gz", [squad("Train2", QUESTIONS), squad(dev, [(0, "Only dev?", "1932")])])
    out = tmp_path / "cross-encoder.npz"
    argv = ["--squad", str(v1), "--squad2", str(v2), "--skip", "0", "--questions", "6", "--per-article", "3"]
    argv += ["--max-steps", "2", "--batch", "4", "--no-dense", "--out", str(out), "--cache", str(tmp_path)]
    assert cross_encoder.main(argv) == 0
    saved = CrossEncoderFile.read(out)
    assert len(saved.lora) == 6 * 6  # six layers x (query, key, value, attention output, intermediate, output)
    assert set(saved.full) == {
        "bert.pooler.dense.weight",
        "bert.pooler.dense.bias",
        "classifier.weight",
        "classifier.bias",
    }
    assert saved.meta["steps"] == 2 and saved.meta["rank"] == 16
    assert out.stat().st_size < 10_000_000
    pairs = cross_encoder.build_pairs(cross_encoder.parser().parse_args(argv), None)
    assert not [p for p in pairs if p.question == "Only dev?"]  # a dev article never trains


@pytest.mark.slow
def test_merged_cross_encoder_gives_the_lora_models_logits() -> None:
    """The file's deltas merged into a fresh model score exactly as the LoRA-wrapped model they came from."""
    import torch

    from index.embedder import resolve_model
    from training import cross_encoder

    args = cross_encoder.parser().parse_args(["--squad", "unused"])
    ce = cross_encoder.lora_model(args)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, parameter in ce[0].model.named_parameters():
            if "lora_B" in name or "classifier" in name:  # B starts at zero: make the deltas matter
                scale = 1.0 if "classifier" in name else 0.05
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
    ce.eval()
    saved = cross_encoder.cross_encoder_file(ce, args, {})
    merged = merged_model(saved, resolve_model(args.model))
    pairs = [("When did the bridge open?", PARAGRAPHS[0]), ("Who painted it?", "Engineers painted it grey.")]
    expected = np.asarray(ce.predict(pairs, activation_fn=torch.nn.Identity()))
    batch = ce.tokenizer([q for q, _ in pairs], [s for _, s in pairs], padding=True, return_tensors="pt")
    with torch.inference_mode():
        got = merged(**batch).logits[:, 0].numpy()
    assert np.abs(expected).max() > 0.1  # the head is not a no-op
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_chat_spelling_rewrites_a_share_of_questions_alike_and_keeps_labels() -> None:
    from training.cross_encoder_data import Pair, chat_spelled

    pairs = [
        Pair(f"What are the people of town {i} doing?", s, label)
        for i in range(200)
        for s, label in (("a", 1.0), ("b", 0.0))
    ]
    out = chat_spelled(pairs, 0.3, random.Random(5))
    assert [p.label for p in out] == [p.label for p in pairs] and [p.sentence for p in out] == [
        p.sentence for p in pairs
    ]
    rewritten = {p.question for p, q in zip(pairs, out) if p.question != q.question}
    assert 30 < len(rewritten) < 90  # about 30% of 200
    by_original: dict[str, set[str]] = {}
    for p, q in zip(pairs, out):
        by_original.setdefault(p.question, set()).add(q.question)
    assert all(len(v) == 1 for v in by_original.values())  # every pair of a question is rewritten the same way
    assert chat_spelled(pairs, 0.0, random.Random(5)) == pairs
    assert out == chat_spelled(pairs, 0.3, random.Random(5))  # seeded


@pytest.mark.slow
def test_shipped_form_of_a_full_fine_tune_scores_like_it() -> None:
    """Low-rank deltas survive `shrink` (float16 aside), so the merged model gives the full model's logits."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from index.embedder import DEFAULT_MODEL, resolve_model
    from training.cross_encoder_ship import low_rank_module, shrink

    path = resolve_model(DEFAULT_MODEL)
    base = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    rng = np.random.default_rng(4)
    full: dict[str, np.ndarray] = {}
    for name, parameter in base.named_parameters():
        if "word_embeddings" in name:
            continue
        value = parameter.detach().numpy().copy()
        if low_rank_module(name):
            value += 0.02 * rng.standard_normal((value.shape[0], 3)) @ rng.standard_normal((3, value.shape[1]))
        elif "classifier" in name:
            value = rng.standard_normal(value.shape).astype(np.float32)
        full[name] = value.astype(np.float32)
    tuned = CrossEncoderFile({"rank": 1, "alpha": 1.0, "max_length": 128}, {}, full)
    small, kept = shrink(tuned, 4)
    assert len(small.lora) == 36 and min(kept.values()) > 0.999
    assert all(a.dtype == np.float16 and a.shape[0] == 4 for a, _ in small.lora.values())
    tokenizer = AutoTokenizer.from_pretrained(path)
    batch = tokenizer(["When did the bridge open?"] * 2, PARAGRAPHS, padding=True, return_tensors="pt")
    with torch.inference_mode():
        expected = merged_model(tuned, path)(**batch).logits[:, 0].numpy()
        got = merged_model(small, path)(**batch).logits[:, 0].numpy()
        plain = merged_model(CrossEncoderFile(small.meta, {}, small.full), path)(**batch).logits[:, 0].numpy()
    assert np.abs(expected - plain).max() > 0.05  # the deltas matter
    np.testing.assert_allclose(got, expected, atol=2e-2)
