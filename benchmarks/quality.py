"""Answer quality: the project's engine on every dev set, against the targets for readers' own questions.

    python -m benchmarks.quality                      # all sections, data from ../shared/eval and benchmarks/readers
    python -m benchmarks.quality --sections readers   # only the reader-style set (ships with the repo)

- **story** (default: SQuAD's University_of_Notre_Dame, 269 questions + 12 off-topic): paragraph top-1 and top-3,
  how often the first quote contains a gold answer, beside plain dense-only and BM25-only retrieval
  (`benchmarks.story_systems`).
- **squad2**: SQuAD 2.0 dev, the eight held-out articles (`benchmarks.squad2`): answerable and trick questions.
- **readers**: the reader-style set (`benchmarks.reader_set`), per story, per style and overall.
- **variants**: trivial variants of the reader-style set's questions (`benchmarks.variants`): the flip rate.
- **qed**, **quiz**: real search queries with near-topic paragraphs, news-quiz questions with no story named, and
  off-topic questions at scale (`benchmarks.real_queries`).

Then the three replies (answered / closest / not covered) on every dev set (`benchmarks.tiers`) and one summary
table: target, before (main at 257509c) and now (`benchmarks.dev_sets`).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

from index.cross_encoder_export import load_cross_encoder
from index.embedder import Encoder, load_encoder, resolve_adapter
from index.ranking import WEIGHTS_FILE, load_weights
from index.stories import parse_story
from training.data import DiskCachedEncoder, Question, read_questions
from training.real_queries import QED_FILE, QUIZ_FILE, RealQuery, read_qed, read_quiz, split_qed, split_quiz

from .dev_sets import reader_rows, squad2_rows, summary_table
from .quality_report import format_readers, format_squad2, format_story
from .reader_set import QUESTIONS_FILE, STORY_FOLDERS, ReaderSet, ask_reader_set, evaluate_readers, read_reader_set
from .real_queries import evaluate_off_topic, evaluate_qed, evaluate_quiz, quiz_library
from .squad2 import Squad2Article, ask_squad2, evaluate_squad2, read_held_out
from .story_asker import Asker, engine_asker, quote_holds_answer
from .story_systems import run
from .tiers import Scored, TierScores, format_tiers, tier_scores
from .variants import evaluate_variants, format_flips

EVAL = Path("../shared/eval")  # beside the repository here; a fresh clone passes its own paths
SECTIONS = ("story", "squad2", "readers", "variants", "qed", "quiz")


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
    parser.add_argument(
        "--qed", type=Path, help=f"QED's Google queries (default {QED_FILE}); the held-out draw is asked"
    )
    parser.add_argument("--quiz", type=Path, help=f"news-quiz questions (default {QUIZ_FILE}); 2026's are asked")
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
        "--cross-encoder-quantization", default="int8", choices=("int8", "fp32"), help="the cross-encoder's ONNX file"
    )
    parser.add_argument(
        "--cross-encoder",
        default="none",
        help="the cross-encoder: none (the default, as the product), auto (the shipped one), or a cross-encoder .npz",
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
    qed: list[RealQuery] | None = None  # QED's held-out draw
    quiz: list[RealQuery] | None = None  # the news quiz's dev year


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
    if "readers" in args.sections or "variants" in args.sections:
        data.readers = read_reader_set(args.readers, args.reader_stories)
    if "qed" in args.sections:
        qed = _found(args.qed, QED_FILE, "--qed", "qed")
        data.qed = split_qed(read_qed(qed))[1] if qed else None
    if "quiz" in args.sections:
        quiz = _found(args.quiz, QUIZ_FILE, "--quiz", "quiz")
        data.quiz = split_quiz(read_quiz(quiz))[1] if quiz else None
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
    cross_encoder = load_cross_encoder(
        args.cross_encoder, model=args.model, quantization=args.cross_encoder_quantization
    )
    ask = engine_asker(encoder, weights, cross_encoder)
    now: dict[str, float | None] = {}
    rows: dict[str, list[Scored]] = {}
    if data.story is not None:
        plain: Encoder | None = None
        if resolve_adapter(args.model, args.adapter) is not None:
            plain = load_encoder(args.model, "none")
            plain = DiskCachedEncoder(plain, args.cache) if args.cache else plain
        results = run(data.story, data.questions, data.off_topic, encoder, weights, plain, cross_encoder)
        _save(plain)
        print(f"== story: {data.story}\n{format_story(results, len(data.questions), len(data.off_topic))}\n")
        now |= {"story.quote": results["engine"].first_quote, "story.off_no_quote": results["engine"].abstained}
        rows["Notre_Dame"] = story_rows(data.story, data.questions, data.off_topic, ask)
    if data.squad2 is not None:
        squad2_pairs = ask_squad2(data.squad2, ask)
        held_out = evaluate_squad2(data.squad2, ask, squad2_pairs)
        print(f"== SQuAD 2.0 dev, held-out articles\n{format_squad2(held_out)}\n")
        rows["SQuAD 2.0 dev articles"] = squad2_rows(squad2_pairs)
    if data.readers is not None:
        pairs = ask_reader_set(data.readers, ask)
        print(f"== reader-style set: {args.readers}\n{format_readers(evaluate_readers(data.readers, ask, pairs))}\n")
        rows["reader set"] = reader_rows(pairs)
        if "variants" in args.sections:
            flips = evaluate_variants(data.readers, ask)
            print(f"== trivial variants of the reader-style set\n{format_flips(flips)}\n")
            now["variants.flips"] = flips.rate
    if data.qed is not None:
        rows["QED held-out"] = evaluate_qed(data.qed, ask, encoder)
    if data.quiz is not None:
        rows["news quiz 2026"] = evaluate_quiz(
            data.quiz, quiz_library(data.quiz, encoder, weights=weights, cross_encoder=cross_encoder)
        )
    if data.qed is not None and data.quiz is not None:
        rows["off-topic at scale"] = evaluate_off_topic(data.qed, data.quiz, ask)
    _save(encoder)
    tiers = {name: tier_scores(r) for name, r in rows.items()}
    tiers["dev sets together"] = tier_scores([row for r in rows.values() for row in r])
    print(f"== three replies: answered / closest / not covered\n{format_tiers(tiers)}\n")
    now |= summary_figures(tiers)
    print(f"== summary\n{summary_table(now)}")
    return 0


def story_rows(story_file: Path, questions: list[Question], off_topic: list[Question], ask: Asker) -> list[Scored]:
    story = parse_story(story_file)
    replies = ask(story, [q.question for q in questions] + [q.question for q in off_topic])
    on = [Scored("answerable", quote_holds_answer(r.quote, q.answers), r) for q, r in zip(questions, replies)]
    return on + [Scored("off_topic", False, r) for r in replies[len(questions) :]]


def summary_figures(tiers: dict[str, TierScores]) -> dict[str, float | None]:
    """The summary's figures, by its keys (benchmarks.dev_sets.TARGETS), from the tier scores of each dev set."""
    pick = {
        "reader set": ("readers", ("right_shown", "right_confident", "near_not_confident", "off_no_quote", "auc")),
        "QED held-out": ("qed", ("right_shown", "right_confident", "near_not_confident", "auc")),
        "news quiz 2026": ("quiz", ("right_shown", "right_confident")),
        "SQuAD 2.0 dev articles": ("squad2", ("right_shown", "not_confident", "auc")),
        "off-topic at scale": ("off", ("no_quote",)),
        "dev sets together": ("all", ("precision",)),
    }
    fields = {
        "right_shown": "right_when_shown",
        "right_confident": "right_confident",
        "near_not_confident": "not_confident",
        "not_confident": "not_confident",
        "off_no_quote": "no_quote_off",
        "no_quote": "no_quote_off",
        "auc": "auc",
        "precision": "precision",
    }
    out: dict[str, float | None] = {}
    for name, (prefix, keys) in pick.items():
        if name in tiers:
            out |= {f"{prefix}.{k}": getattr(tiers[name], fields[k]) for k in keys}
    return out


def _save(encoder: Encoder | None) -> None:
    if isinstance(encoder, DiskCachedEncoder):
        encoder.save()


if __name__ == "__main__":
    raise SystemExit(main())
