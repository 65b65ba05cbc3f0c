"""Answer quality: the project's engine on three kinds of questions, against issue 12's targets.

    python -m benchmarks.quality                      # all sections, data from ../shared/eval and benchmarks/readers
    python -m benchmarks.quality --sections readers   # only the reader-style set (ships with the repo)

- **story** (default: SQuAD's University_of_Notre_Dame, 269 questions + 12 off-topic): paragraph top-1 and top-3,
  how often the first quote contains a gold answer (case-insensitive; an abstention counts as a miss), on-topic
  questions answered and off-topic ones abstained, median time per question; beside plain dense-only and
  BM25-only retrieval with an oracle threshold (the cut-off that answers exactly 95% of this run's on-topic
  questions, the best a fixed cut-off could do here; the engine's abstention is fitted on SQuAD only).
- **squad2**: SQuAD 2.0 dev, the eight held-out articles (`benchmarks.squad2`): answerable questions whose first
  quote holds the answer, unanswerable ones declined.
- **readers**: the reader-style set (`benchmarks.reader_set`): right quote, answered, near-topic and off-topic
  declined, per story, per style and overall.

Then one summary table: target, before (main before the reader model) and now.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.embedder import Encoder, load_encoder, resolve_adapter
from index.library import Library
from index.ranking import WEIGHTS_FILE, Weights, load_weights
from index.reader_export import load_reader
from index.reader_onnx import OnnxReader
from index.stories import parse_story
from training.data import DiskCachedEncoder, Question, read_questions

from .quality_report import format_readers, format_squad2, format_story, summary_table
from .reader_set import QUESTIONS_FILE, STORY_FOLDERS, ReaderSet, evaluate_readers, read_reader_set
from .squad2 import Squad2Article, evaluate_squad2, read_held_out
from .story_asker import engine_asker, quote_holds_answer

ANSWER_RATE_FOR_BASELINES = 0.95
EVAL = Path("../shared/eval")  # beside the repository here; a fresh clone passes its own paths
SECTIONS = ("story", "squad2", "readers")


@dataclass
class Prediction:
    """What a system says about one question: paragraph numbers best first, its first quote, or silence."""

    paragraphs: list[int]
    quote: str | None
    score: float = 0.0  # what a baseline's abstention threshold is applied to


@dataclass
class Metrics:
    top1: float
    top3: float
    first_quote: float
    answered: float
    abstained: float
    p50_ms: float


System = Callable[[str], Prediction]


def evaluate(system: System, questions: Sequence[Question], off_topic: Sequence[Question]) -> Metrics:
    """Ask every question once and score the predictions (see the module docstring for the definitions)."""
    on = [_timed(system, q.question) for q in questions]
    off = [_timed(system, q.question) for q in off_topic]
    n = max(len(questions), 1)
    return Metrics(
        top1=sum(bool(p.paragraphs) and p.paragraphs[0] == q.paragraph for (p, _), q in zip(on, questions)) / n,
        top3=sum(q.paragraph in p.paragraphs[:3] for (p, _), q in zip(on, questions)) / n,
        first_quote=sum(quote_holds_answer(p.quote, q.answers) for (p, _), q in zip(on, questions)) / n,
        answered=sum(p.quote is not None for p, _ in on) / n,
        abstained=sum(p.quote is None for p, _ in off) / max(len(off), 1),
        p50_ms=statistics.median([t for _, t in on + off]) * 1000 if on or off else 0.0,
    )


def _timed(system: System, question: str) -> tuple[Prediction, float]:
    start = time.perf_counter()
    prediction = system(question)
    return prediction, time.perf_counter() - start


def engine_system(library: Library) -> System:
    """The project's engine exactly as the bot calls it, plus its paragraph ranking for top-k."""

    def ask(question: str) -> Prediction:
        answer = library.ask(question)  # a CLOSEST reply scores as silence: only confident answers count
        return Prediction(library.paragraph_ranking(question), answer.quotes[0].text if answer.answered else None)

    return ask


def single_signal_system(library: Library, encoder: Encoder, kind: str) -> System:
    """Plain dense-only or BM25-only: rank paragraphs by one score, quote the top paragraph's best sentence by it.

    Sentence-level scores are the same kind (sentence cosine, or BM25 over sentences). The score returned
    for abstention is the top paragraph's raw score (cosine, or BM25).
    """
    story = library.data.stories[0]
    numbers = [p.number for p in story.paragraphs]
    spans = [library.rows.para_sentences[row] for row in range(len(numbers))]
    bm25_p, bm25_s = library.data.paragraph_bm25, library.data.sentence_bm25

    def ask(question: str) -> Prediction:
        if kind == "dense":
            vector = encoder.encode([question])[0]
            para = library.scorer.paragraph_vectors[: len(numbers)] @ vector
            sent = library.scorer.sentence_vectors[:] @ vector
        else:
            para = bm25_p.scores(bm25_p.query_terms(question)[0])
            sent = bm25_s.scores(bm25_s.query_terms(question)[0])
        order = np.argsort(-para, kind="stable")
        top = int(order[0])
        rows = spans[top]
        best = int(np.argmax(sent[rows.start : rows.stop]))
        quote = story.paragraphs[top].sentence_text(best)
        return Prediction([numbers[i] for i in order], quote, float(para[top]))

    return ask


def with_threshold(system: System, threshold: float) -> System:
    def ask(question: str) -> Prediction:
        p = system(question)
        return p if p.score >= threshold else Prediction(p.paragraphs, None, p.score)

    return ask


def oracle_threshold(system: System, questions: Sequence[Question], rate: float = ANSWER_RATE_FOR_BASELINES) -> float:
    """The score cut-off that answers `rate` of these on-topic questions."""
    scores = np.array([system(q.question).score for q in questions])
    return float(np.quantile(scores, 1 - rate)) if len(scores) else 0.0


def run(
    story_file: Path,
    questions: list[Question],
    off_topic: list[Question],
    encoder: Encoder,
    weights: Weights | None = None,
    plain_encoder: Encoder | None = None,
    reader: OnnxReader | None = None,
) -> dict[str, Metrics]:
    """The engine, then dense-only and BM25-only on the engine's encoder; with `plain_encoder` (the model without
    its adapter) also dense-only on that, the plain baseline the issue's figures were measured with."""
    story = parse_story(story_file)
    library = Library.from_stories([story], encoder, weights, reader)
    results = {"engine": evaluate(engine_system(library), questions, off_topic)}
    baselines = [("dense-only", library, encoder, "dense"), ("bm25-only", library, encoder, "bm25")]
    if plain_encoder is not None:
        plain_library = Library.from_stories([story], plain_encoder, weights)
        baselines.insert(1, ("dense-plain", plain_library, plain_encoder, "dense"))
    for name, lib, enc, kind in baselines:
        plain = single_signal_system(lib, enc, kind)
        results[name] = evaluate(with_threshold(plain, oracle_threshold(plain, questions)), questions, off_topic)
    return results


class DataMissing(Exception):
    """A data file named on the command line that isn't there."""


def _found(given: Path | None, default: Path, flag: str, section: str) -> Path | None:
    """The file to read: the one named (which must exist), else the default when it exists, else None (the
    section is skipped with a note saying how to run it)."""
    path = given or default
    if path.exists():
        return path
    if given is not None:
        raise DataMissing(f"{path} does not exist ({flag})")
    print(f"skipping {section}: {path} not found; pass {flag} PATH (see --help)", file=sys.stderr)
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.quality",
        description=__doc__.split("\n\n")[0],
        epilog=(
            "Data: ../shared/eval holds the story section's files (SQuAD v1.1) and SQuAD 2.0 dev (CC BY-SA 4.0); "
            "a fresh clone passes its own copies or runs --sections readers. A story-section question line is "
            '{"question", "paragraph" (1-based gold), "answers": [gold texts]}; an off-topic line needs only '
            '"question". The reader set\'s format is in benchmarks/readers/README.md.'
        ),
    )
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="what to run")
    parser.add_argument("--story", type=Path, help=f"story file (default {EVAL}/university-of-notre-dame.txt)")
    parser.add_argument("--questions", type=Path, help="JSONL of the story's questions with gold")
    parser.add_argument("--off-topic", type=Path, help="JSONL of questions the story does not answer")
    parser.add_argument(
        "--squad2", type=Path, help=f"SQuAD 2.0 dev (default {EVAL}/squad-dev-v2.0-other-articles.json.gz)"
    )
    parser.add_argument("--readers", type=Path, default=QUESTIONS_FILE, help="the reader-style questions (JSONL)")
    parser.add_argument(
        "--reader-stories", type=Path, nargs="+", default=list(STORY_FOLDERS), help="folders of their stories"
    )
    parser.add_argument("--model", default="all-MiniLM-L6-v2", help="embedding model (default: the packaged one)")
    parser.add_argument(
        "--adapter", default="auto", help="LoRA adapter for the model: auto (the shipped one), none, or a .npz"
    )
    parser.add_argument("--weights", type=Path, default=WEIGHTS_FILE, help="fitted weights (default: the shipped ones)")
    parser.add_argument(
        "--reader-quantization", default="int8", choices=("int8", "fp32"), help="the reader's ONNX file"
    )
    parser.add_argument(
        "--reader",
        default="none",
        help="the reader model: none (the default, as the product), auto (the shipped one), or a reader .npz",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        help="reuse embeddings cached in this folder, e.g. data/cache (fast reruns; latency then excludes encoding)",
    )
    return parser


@dataclass
class Data:
    """Everything the chosen sections read, loaded before any model is, so a bad file fails fast."""

    story: Path | None = None
    questions: list[Question] = field(default_factory=list)
    off_topic: list[Question] = field(default_factory=list)
    squad2: list[Squad2Article] | None = None
    readers: ReaderSet | None = None


def load_data(args: argparse.Namespace) -> Data:
    """Raises DataMissing or ValueError (naming the file, and the line where it has one) for bad data."""
    data = Data()
    if "story" in args.sections:
        story = _found(args.story, EVAL / "university-of-notre-dame.txt", "--story", "story")
        default_questions = EVAL / "university-of-notre-dame.questions.jsonl"
        questions = _found(args.questions, default_questions, "--questions", "story") if story else None
        if story and questions:
            data.story, data.questions = story, read_questions(questions)
            if not data.questions or any(q.paragraph is None for q in data.questions):
                raise ValueError(f"{questions}: every on-topic line needs a gold 'paragraph'")
            off = _found(args.off_topic, EVAL / "off-topic.questions.jsonl", "--off-topic", "off-topic questions")
            data.off_topic = read_questions(off) if off else []
    if "squad2" in args.sections:
        squad2 = _found(args.squad2, EVAL / "squad-dev-v2.0-other-articles.json.gz", "--squad2", "squad2")
        data.squad2 = read_held_out(squad2) if squad2 else None
    if "readers" in args.sections:
        data.readers = read_reader_set(args.readers, args.reader_stories)
    return data


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        data = load_data(args)
    except (DataMissing, ValueError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 2
    encoder: Encoder = load_encoder(args.model, args.adapter)
    if args.cache:
        encoder = DiskCachedEncoder(encoder, args.cache)
    weights = load_weights(args.weights)
    reader = load_reader(args.reader, model=args.model, quantization=args.reader_quantization)
    now: dict[str, float | None] = {}
    if data.story is not None:
        plain: Encoder | None = None
        if resolve_adapter(args.model, args.adapter) is not None:
            plain = load_encoder(args.model, "none")
            plain = DiskCachedEncoder(plain, args.cache) if args.cache else plain
        results = run(data.story, data.questions, data.off_topic, encoder, weights, plain, reader)
        _save(plain)
        print(f"== story: {data.story}\n{format_story(results, len(data.questions), len(data.off_topic))}\n")
        now |= {"story.top1": results["engine"].top1, "story.quote": results["engine"].first_quote}
    ask = engine_asker(encoder, weights, reader)
    if data.squad2 is not None:
        held_out = evaluate_squad2(data.squad2, ask)
        print(f"== SQuAD 2.0 dev, held-out articles\n{format_squad2(held_out)}\n")
        now |= {"squad2.quote": held_out["all"].quote, "squad2.declined": held_out["all"].declined}
    if data.readers is not None:
        readers = evaluate_readers(data.readers, ask)
        print(f"== reader-style set: {args.readers}\n{format_readers(readers)}\n")
        scores = readers["all"]
        now |= {"readers.right": scores.right, "readers.near": scores.near_declined, "readers.off": scores.off_declined}
    _save(encoder)
    print(f"== summary (issue 12)\n{summary_table(now)}")
    return 0


def _save(encoder: Encoder | None) -> None:
    if isinstance(encoder, DiskCachedEncoder):
        encoder.save()


if __name__ == "__main__":
    raise SystemExit(main())
