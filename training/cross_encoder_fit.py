"""Fit how the engine uses the cross-encoder, and write it into index/weights.json's `cross_encoder` section.

    python -m training.cross_encoder_fit --squad squad-train-v1.1.json.gz --squad2 squad-dev-v2.0-other-articles.json.gz \
        [--cross-encoder index/cross_encoders/minilm-l6-squad.npz] [--articles 24] [--validation 8]

The questions come from SQuAD articles the cross-encoder never trained on: the ranker fit's own articles (the first of
the seeded shuffle) and SQuAD 2.0's Packet_switching and Scottish_Parliament (held out of the cross-encoder's training,
not among the dev articles). Each article is asked as it is and cut into news-sized stories; the negatives are
its questions asked of the story with every paragraph holding the answer removed, other articles' questions
(off topic, some sharing a rare word), and every one of the two SQuAD 2.0 articles' unanswerable questions. Each
article's records are saved under --cache (keyed by the cross-encoder file), so `--shard 0/2` and `--shard 1/2` can compute
them on two cores and a last run fits in seconds. Fitted, in this order:

- `top_n` and `ranker_weight`: how many of the ranker's sentences the cross-encoder reads and how the two logits add up,
  by "the first quote holds the answer" on the training articles;
- the abstention: a logistic regression over (best cross-encoder logit, ranker-based abstention logit), its threshold
  answering `--answer-rate` of the validation articles' answerable questions;
- `extra_min_score`: the lowest combined score at which a 2nd/3rd quote holds the answer at >= `--extra-precision`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import pickle
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.candidates import Candidates
from index.cross_encoder import SHIPPED
from index.cross_encoder_export import load_cross_encoder
from index.cross_encoder_onnx import OnnxCrossEncoder
from index.embedder import load_encoder
from index.library import Library
from index.ranking import (
    WEIGHTS_FILE,
    CrossEncoderWeights,
    Ranking,
    Weights,
    answer_features,
    answer_probability,
    load_weights,
    rank,
)
from index.rereading import Rereading, answer_logit, reread
from index.weights_file import weights_id

from . import extra_quotes
from .data import (
    Article,
    DiskCachedEncoder,
    Question,
    news_sized_cuts,
    read_squad,
    squad_article,
)
from .fit import DEV_ARTICLE, fit_logistic, near_misses

READ_AT_MOST = 16
READ_COUNTS = (3, 4, 6, 10, 16)  # how many of the ranker's sentences the cross-encoder may read: fewer is faster
FIT_V2_ARTICLES = ("Packet_switching", "Scottish_Parliament")


@dataclass
class Record:
    """One question asked of one story: candidates, the ranker's call, and the cross-encoder's logits for its best 16."""

    candidates: Candidates
    ranking: Ranking
    positive: np.ndarray  # per candidate sentence: holds a gold answer in the gold paragraph
    abstain_p: float  # the ranker-based abstention model's probability
    reading: Rereading
    kind: str  # answerable, unanswered, off_topic, trick


def _records(
    library: Library, asked: Sequence[tuple[str, list[str], int | tuple[int, ...], str]], weights: Weights
) -> list[Record]:
    """`asked`: (question, gold answers, gold paragraph number(s) or 0, kind)."""
    texts = [library.reading_of(q) for q, _, _, _ in asked]
    found = [library.candidates(t) for t in texts]
    rankings = [rank(c, weights) if c is not None else None for c in found]
    library.cross_encoder_weights = CrossEncoderWeights(top_n=READ_AT_MOST)
    readings = library.rereadings(texts, found, rankings)
    out = []
    lowered = [library.rows.sentence_text(r).lower() for r in range(library.rows.sentence_count)]
    for (_, answers, paragraph, kind), c, r, reading in zip(asked, found, rankings, readings):
        if c is None or r is None or reading is None:
            continue
        numbers = np.array([library.rows.paragraph(int(p)).number for p in c.paragraph_rows])
        in_gold = np.isin(numbers[c.sentence_paragraph], np.atleast_1d(paragraph))
        gold = [a.lower() for a in answers if a.strip()]
        positive = np.array(
            [in_gold[i] and any(a in lowered[int(s)] for a in gold) for i, s in enumerate(c.sentence_rows)]
        )
        p = answer_probability(answer_features(c, r), weights)
        out.append(Record(c, r, positive.astype(bool), p, reading, kind))
    return out


def story_records(
    article: Article,
    pool: list[str],
    encoder: DiskCachedEncoder,
    cross_encoder: OnnxCrossEncoder,
    weights: Weights,
    cap: int,
    off: int,
) -> list[Record]:
    rng = random.Random(article.title)
    library = Library.from_stories([article.story], encoder, weights, cross_encoder)
    questions = article.questions[:]
    rng.shuffle(questions)
    questions = questions[:cap]
    asked = [(q.question, q.answers, q.paragraph or 0, "answerable" if q.answers else "trick") for q in questions]
    others = [q for q in pool if q not in {x.question for x in article.questions}]
    off_topic = rng.sample(others, min(off, len(others))) + near_misses(article.story, others, off // 2, rng)
    asked += [(q, [], 0, "off_topic") for q in off_topic]
    records = _records(library, asked, weights)
    texts = [p.text.lower() for p in article.story.paragraphs]
    for q in [q for q in questions if q.answers][: max(cap // 3, 1)]:
        holding = {i + 1 for i, t in enumerate(texts) if any(a.lower() in t for a in q.answers)} | {q.paragraph or 0}
        kept = tuple(p for p in article.story.paragraphs if p.number not in holding)
        if kept:
            reduced = Library.from_stories(
                [article.story.model_copy(update={"paragraphs": kept})], encoder, weights, cross_encoder
            )
            records += _records(reduced, [(q.question, [], 0, "unanswered")], weights)
    return records


def article_records(
    article: Article,
    pool: list[str],
    encoder: DiskCachedEncoder,
    cross_encoder: OnnxCrossEncoder,
    weights: Weights,
    cap: int,
) -> list[Record]:
    """The article whole, and cut into stories of 3-8 consecutive paragraphs (the shipped stories are short)."""
    records = story_records(article, pool, encoder, cross_encoder, weights, cap, cap // 2)
    for cut in news_sized_cuts(article):
        records += story_records(cut, pool, encoder, cross_encoder, weights, max(cap // 6, 3), 3)
    return records


def quote_holds(e: Record, rw: CrossEncoderWeights, ratio: float) -> bool:
    """The first quote after the cross-encoder's reread holds a gold answer: the top paragraph's best sentence with
    the neighbour `index.quoting` joins to it (as `training.extra_quotes.quoted_sentences` finds it)."""
    r = reread(e.candidates, e.ranking, _cut(e.reading, rw.top_n), rw)
    best = int(r.best_sentence[r.paragraph_order[0]])
    return bool(e.positive[extra_quotes.quoted_sentences(e.candidates, r.sentence_score, best, ratio)].any())


def first_quote_holds(records: list[Record], rw: CrossEncoderWeights, ratio: float) -> float:
    hits = [quote_holds(e, rw, ratio) for e in records]
    return float(np.mean(hits)) if hits else 0.0


def _cut(reading: Rereading, n: int) -> Rereading:
    return Rereading(reading.positions[:n], reading.logits[:n])


def abstention_rows(records: list[Record], n: int) -> np.ndarray:
    p = np.clip(np.array([e.abstain_p for e in records]), 1e-6, 1 - 1e-6)
    return np.column_stack([[_cut(e.reading, n).best for e in records], np.log(p / (1 - p))])


def extra_candidates(records: list[Record], rw: CrossEncoderWeights, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    scores, right = [], []
    for e in records:
        r = reread(e.candidates, e.ranking, _cut(e.reading, rw.top_n), rw)
        top = float(r.paragraph_score[r.paragraph_order[0]])
        for para in r.paragraph_order[1:3]:
            score = float(r.paragraph_score[para])
            if top - score > rw.extra_margin:
                break
            chosen = extra_quotes.quoted_sentences(e.candidates, r.sentence_score, int(r.best_sentence[para]), ratio)
            scores.append(score)
            right.append(bool(e.positive[chosen].any()))
    return np.asarray(scores), np.asarray(right, dtype=bool)


def fit(train: list[Record], valid: list[Record], args: argparse.Namespace, weights: Weights) -> CrossEncoderWeights:
    answerable = [e for e in train if e.kind == "answerable"]
    valid_answerable = [e for e in valid if e.kind == "answerable"]
    ratio = weights.neighbour_ratio
    report: dict[str, object] = {
        "ranker_only_first_quote": first_quote_holds(valid_answerable, CrossEncoderWeights(top_n=0), ratio)
    }
    grid = {}
    for n in READ_COUNTS:
        for w in (0.0, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0):
            grid[(n, w)] = first_quote_holds(answerable, CrossEncoderWeights(top_n=n, ranker_weight=w), ratio)
    best_n, best_w = max(grid, key=lambda k: (round(grid[k], 3), -k[0]))  # ties: read fewer (faster)
    report["first_quote_train"] = {f"n{n}_w{w}": round(v, 4) for (n, w), v in grid.items()}
    rw = CrossEncoderWeights(top_n=best_n, ranker_weight=best_w)
    report["first_quote_valid"] = {
        f"n{n}": round(
            first_quote_holds(valid_answerable, CrossEncoderWeights(top_n=n, ranker_weight=best_w), ratio), 4
        )
        for n in READ_COUNTS
    }
    x = abstention_rows(train, best_n)
    y = np.array([e.kind == "answerable" for e in train], dtype=float)
    coef, intercept, mean, scale = fit_logistic(x, y, c=1.0, balanced=True)
    rw.answer_coef = (coef / scale).tolist()
    rw.answer_intercept = intercept - float(coef @ (mean / scale))
    z = np.array([answer_logit(_cut(e.reading, best_n), e.abstain_p, rw) for e in valid])
    kinds = np.array([e.kind for e in valid])
    rw.answer_threshold = float(1 / (1 + np.exp(-np.quantile(z[kinds == "answerable"], 1 - args.answer_rate))))
    t_logit = float(np.log(rw.answer_threshold / (1 - rw.answer_threshold)))
    report["abstention_valid"] = {
        k: round(float(np.mean(z[kinds == k] < t_logit if k != "answerable" else z[kinds == k] >= t_logit)), 4)
        for k in sorted(set(kinds))
    }
    scores, right = extra_candidates(valid_answerable, rw, ratio)
    cut = extra_quotes.fit_cut(scores, right, args.extra_precision)
    rw.extra_min_score = None if cut >= extra_quotes.NEVER else cut
    report["extra_quotes_valid"] = extra_quotes.report(scores, right, cut, len(valid_answerable))
    rw.fitted = {
        "cross_encoder": args.cross_encoder.name if args.cross_encoder else "auto",
        "answer_rate": args.answer_rate,
        "records": {
            k: int(sum(e.kind == k for e in train)) for k in ("answerable", "unanswered", "off_topic", "trick")
        },
        "fitted_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "report": report,
    }
    return rw


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.cross_encoder_fit", description=__doc__.split("\n\n")[0])
    p.add_argument("--squad", type=Path, required=True)
    p.add_argument("--squad2", type=Path, required=True)
    p.add_argument("--cross-encoder", type=Path, help="cross-encoder .npz (default: the shipped one)")
    p.add_argument("--articles", type=int, default=24, help="v1 articles to fit on (the fit's first ones)")
    p.add_argument("--validation", type=int, default=8, help="further v1 articles for thresholds")
    p.add_argument("--per-article", type=int, default=30, help="questions asked of each whole article")
    p.add_argument("--answer-rate", type=float, default=0.95)
    p.add_argument("--extra-precision", type=float, default=0.8)
    p.add_argument("--quantization", default="int8")
    p.add_argument("--weights", type=Path, default=WEIGHTS_FILE)
    p.add_argument("--cache", type=Path, default=Path("data/cache"))
    p.add_argument(
        "--shard",
        default="0/1",
        help="I/N: only compute (and save) every Nth article's records, from the Ith; "
        "run N shards at once on N cores, then once without --shard to fit from the saved records",
    )
    args = p.parse_args(argv)
    started = time.monotonic()
    weights = load_weights(args.weights)
    cross_encoder = load_cross_encoder(
        str(args.cross_encoder) if args.cross_encoder else "auto",
        cache=args.cache / "readers",
        quantization=args.quantization,
    )
    if cross_encoder is None:
        raise SystemExit("no cross-encoder: train one with python -m training.cross_encoder, or pass --cross-encoder")
    raw = read_squad(args.squad, exclude=[DEV_ARTICLE])
    random.Random(7).shuffle(raw)
    articles = [squad_article(a) for a in raw[: args.articles + args.validation]]
    v2 = [squad_article(a) for a in read_squad(args.squad2) if a["title"] in FIT_V2_ARTICLES]
    v2 = [
        _with_tricks(a, raw_v2)
        for a, raw_v2 in zip(v2, [a for a in read_squad(args.squad2) if a["title"] in FIT_V2_ARTICLES])
    ]
    pool = [q.question for a in articles for q in a.questions]
    encoder = DiskCachedEncoder(load_encoder(), args.cache)
    train: list[Record] = []
    valid: list[Record] = []
    shard, shards = (int(x) for x in args.shard.split("/"))
    saved = args.cache / f"reader-fit-{records_key(args, weights)}"
    for number, article in enumerate(articles + v2):
        cap = args.per_article if article not in v2 else len(article.questions)  # every SQuAD 2.0 trick question
        stored = saved / f"{article.title}-{cap}.pkl"
        if stored.is_file():
            part = [Record(*fields) for fields in pickle.loads(stored.read_bytes())]
        elif number % shards != shard:
            continue
        else:
            part = article_records(article, pool, encoder, cross_encoder, weights, cap)
            stored.parent.mkdir(parents=True, exist_ok=True)
            stored.write_bytes(pickle.dumps([tuple(vars(r).values()) for r in part]))  # not __main__.Record
            encoder.save()
        (train if number < args.articles or article in v2[:1] else valid).extend(part)
        print(f"  {article.title}: {len(part)} records ({time.monotonic() - started:.0f}s)", file=sys.stderr)
    if shards > 1:
        print(f"shard {shard}/{shards}: records saved in {saved}; run without --shard to fit", file=sys.stderr)
        return 0
    rw = fit(train, valid, args, weights)
    weights.cross_encoder = rw
    args.weights.write_text(json.dumps(weights.model_dump(), indent=1) + "\n", encoding="utf-8")
    print(json.dumps(rw.model_dump(), indent=1))
    print(f"wrote {args.weights} in {(time.monotonic() - started) / 60:.1f} min", file=sys.stderr)
    return 0


def records_key(args: argparse.Namespace, weights: Weights) -> str:
    """What the saved records depend on: the cross-encoder file, its quantization and the ranker's weights."""
    ranker = json.dumps(weights.model_dump(exclude={"cross_encoder"}), sort_keys=True).encode()
    return f"{weights_id(args.cross_encoder or SHIPPED)}-{args.quantization}-{hashlib.sha256(ranker).hexdigest()[:8]}"


def _with_tricks(article: Article, raw: dict) -> Article:
    """SQuAD 2.0's unanswerable questions kept, with no answers (squad_article reads answers only)."""
    questions = [
        Question(qa["question"], number, [] if qa.get("is_impossible") else [a["text"] for a in qa["answers"]])
        for number, paragraph in enumerate(raw["paragraphs"], 1)
        for qa in paragraph["qas"]
    ]
    return Article(article.title, article.story, questions)


if __name__ == "__main__":
    sys.exit(main())
