"""Fit how the engine decides among its three replies with the cross-encoder on, into weights.json's `cross_encoder` section.

    python -m training.decision_fit --squad squad-train-v1.1.json.gz --squad2 squad-dev-v2.0-other-articles.json.gz \
        --qed qed-train.jsonl.gz --quiz news-quiz-other-years.jsonl.gz [--cross-encoder FILE.npz] [--weights index/weights.json]

Fitted on samples (training.decision_records) from questions people wrote without seeing the passage (the folds
of QED and the news quiz the cross-encoder did not train on), the reader-style training set, off-topic questions
at scale and SQuAD, every set weighing the same:

1. how many of the ranker's sentences the cross-encoder reads (`top_n`) and how its logit adds to the ranker's
   (`ranker_weight`), by "the first quote holds the answer";
2. the answer model: a logistic regression over `index.rereading.DECISION_FEATURES` for "the first quote holds the
   answer" (its probability is the answer's confidence);
3. the related model: the same features for "the question is on the story's subject" (against off-topic ones);
4. the two thresholds, on the dev sets together (each weighing the same): the confident one, the lowest at which
   confident replies hold the answer at `--precision`; the decline one, below which `--off-topic-share` of the
   off-topic questions fall.

Every set's samples are saved under --cache, keyed by the cross-encoder file and the ranker's weights, so a refit
takes seconds. Prints the AUC of both models on every dev set.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import pickle
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.cross_encoder_export import load_cross_encoder
from index.cross_encoder_onnx import OnnxCrossEncoder
from index.features import QUESTION_FEATURES
from index.ranking import (
    WEIGHTS_FILE,
    CrossEncoderWeights,
    Thresholds,
    Weights,
    answer_features,
    answer_probability,
    load_weights,
    related_probability,
)

from .cross_encoder_fit import Record, records_key
from .decision_math import features_of, first_right, threshold_for_precision, weighted_auc
from .decision_records import Sample
from .decision_sets import SetSpec, dev_sets, training_sets
from .fit import fit_logistic

READ_COUNTS = (3, 6, 10, 16)
RANKER_WEIGHTS = (0.0, 0.5, 1.0, 2.0)


def cached(spec: SetSpec, folder: Path, build: Callable[[], list[Sample]]) -> list[Sample]:
    """The spec's samples, saved in `folder` (minutes of asking each); a file older code wrote is made again."""
    path = folder / f"{spec.name}.pkl"
    if path.is_file():
        try:
            return [Sample(Record(*fields), source) for fields, source in pickle.loads(path.read_bytes())]
        except (pickle.UnpicklingError, ImportError, AttributeError, TypeError, EOFError) as e:
            print(f"  {path}: saved by other code ({e}); asking again", file=sys.stderr)
    samples = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps([(tuple(vars(s.record).values()), s.source) for s in samples]))
    return samples


def source_weights(samples: list[Sample]) -> np.ndarray:
    """Each sample's weight so that every source sums to the same."""
    sources = np.array([s.source for s in samples])
    out = np.zeros(len(samples))
    for name in set(sources.tolist()):
        mask = sources == name
        out[mask] = 1.0 / mask.sum()
    return out * len(set(sources.tolist()))


def fit(
    train: list[Sample], dev: list[Sample], args: argparse.Namespace
) -> tuple[CrossEncoderWeights, dict[str, object]]:
    answerable = [s for s in train if s.kind == "answerable"]
    w_ans = source_weights(answerable)
    grid = {
        (n, w): float(np.average([first_right(s, n, w) for s in answerable], weights=w_ans))
        for n in READ_COUNTS
        for w in RANKER_WEIGHTS
    }
    top_n, ranker_weight = max(grid, key=lambda k: (round(grid[k], 3), -k[0]))
    report: dict[str, object] = {"first_quote_train": {f"n{n}_w{w}": round(v, 4) for (n, w), v in grid.items()}}
    x = np.stack([features_of(s, top_n, ranker_weight) for s in train])
    right = np.array([first_right(s, top_n, ranker_weight) for s in train], dtype=float)
    related = np.array([s.kind != "off_topic" for s in train], dtype=float)
    weights = source_weights(train)
    rw = CrossEncoderWeights(top_n=top_n, ranker_weight=ranker_weight)
    models = {}
    for name, y in (("answer", right), ("related", related)):
        coef, intercept, mean, scale = fit_logistic(x, y, c=1.0, balanced=False, sample_weight=weights)
        models[name] = ((coef / scale).tolist(), intercept - float(coef @ (mean / scale)))
    rw.decision_coef, rw.decision_intercept = models["answer"]
    rw.related_coef, rw.related_intercept = models["related"]
    xd = np.stack([features_of(s, top_n, ranker_weight) for s in dev])
    p_answer = 1 / (1 + np.exp(-(xd @ np.asarray(rw.decision_coef) + rw.decision_intercept)))
    p_related = 1 / (1 + np.exp(-(xd @ np.asarray(rw.related_coef) + rw.related_intercept)))
    right_dev = np.array([first_right(s, top_n, ranker_weight) for s in dev])
    dev_weights = source_weights(dev)
    rw.answer_threshold = threshold_for_precision(p_answer, right_dev, dev_weights, args.precision)
    off = np.array([s.kind == "off_topic" for s in dev])
    rw.closest_threshold = float(np.quantile(p_related[off], args.off_topic_share)) if off.any() else 0.0
    report["dev"] = dev_report(dev, p_answer, p_related, right_dev, rw)
    return rw, report


def fit_ranker_decision(
    train: list[Sample], dev: list[Sample], weights: Weights, args: argparse.Namespace
) -> dict[str, object]:
    """The decision for the engine without the cross-encoder (CROSS_ENCODER_MODEL=none), refitted in `weights`: the
    confidence, a logistic regression over every QUESTION_FEATURE (clipped to the fit's 2nd-98th percentile and
    standardised) for "the first quote holds the answer"; the relatedness, the same features for "on the story's
    subject"; the two thresholds on the dev sets as for the cross-encoder's decision."""
    x = np.stack([answer_features(s.record.candidates, s.record.ranking) for s in train])
    low, high = np.quantile(x, 0.02, axis=0), np.quantile(x, 0.98, axis=0)
    x = np.clip(x, low, high)
    right = np.array([first_right(s, 0, 0.0) for s in train], dtype=float)
    related = np.array([s.kind != "off_topic" for s in train], dtype=float)
    sample_weights = source_weights(train)
    coef, intercept, mean, scale = fit_logistic(x, right, c=1.0, balanced=False, sample_weight=sample_weights)
    rcoef, rintercept, _, _ = fit_logistic(x, related, c=1.0, balanced=False, sample_weight=sample_weights)
    weights.question_features = list(QUESTION_FEATURES)
    weights.answer_low, weights.answer_high = low.tolist(), high.tolist()
    weights.answer_mean, weights.answer_scale = mean.tolist(), scale.tolist()
    weights.answer_coef, weights.answer_intercept = coef.tolist(), intercept
    weights.related_coef, weights.related_intercept = rcoef.tolist(), rintercept
    features = [answer_features(s.record.candidates, s.record.ranking) for s in dev]
    p = np.array([answer_probability(f, weights) for f in features])
    p_related = np.array([related_probability(f, weights) for f in features], dtype=float)
    right_dev = np.array([first_right(s, 0, 0.0) for s in dev])
    weights.answer_threshold = threshold_for_precision(p, right_dev, source_weights(dev), args.precision)
    off = np.array([s.kind == "off_topic" for s in dev])
    weights.closest_threshold = float(np.quantile(p_related[off], args.off_topic_share)) if off.any() else 0.0
    return dev_report(dev, p, p_related, right_dev, weights)


def dev_report(
    dev: list[Sample], p: np.ndarray, p_related: np.ndarray, right: np.ndarray, thresholds: Thresholds
) -> dict[str, object]:
    """Per dev set: how the confidence separates answerable from not, and right from wrong first quotes, and what
    share each tier gets."""
    out: dict[str, object] = {}
    for source in sorted({s.source for s in dev}):
        mask = np.array([s.source == source for s in dev])
        kinds = np.array([dev[i].kind for i in np.flatnonzero(mask)])
        confident = p[mask] >= thresholds.answer_threshold
        out[source] = {
            "n": int(mask.sum()),
            "auc_answerable": weighted_auc(p[mask], kinds),
            "auc_right": weighted_auc(p[mask], np.where(right[mask], "answerable", "other")),
            "confident": round(float(confident.mean()), 4),
            "confident_right": round(float(right[mask][confident].mean()), 4) if confident.any() else None,
            "declined": round(float((p_related[mask] < (thresholds.closest_threshold or 0.0)).mean()), 4),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.decision_fit", description=__doc__.split("\n\n")[0])
    p.add_argument("--squad", type=Path, required=True)
    p.add_argument("--squad2", type=Path, required=True)
    p.add_argument("--qed", type=Path, required=True)
    p.add_argument("--quiz", type=Path, required=True)
    p.add_argument("--cross-encoder", type=Path, help="cross-encoder .npz (default: the shipped one)")
    p.add_argument("--precision", type=float, default=0.90, help="confident replies right at least this often")
    p.add_argument("--off-topic-share", type=float, default=0.99, help="off-topic questions given no quote")
    p.add_argument("--quantization", default="int8")
    p.add_argument("--weights", type=Path, default=WEIGHTS_FILE)
    p.add_argument("--cache", type=Path, default=Path("data/cache"))
    args = p.parse_args(argv)
    started = time.monotonic()
    weights: Weights = load_weights(args.weights)
    cross_encoder: OnnxCrossEncoder | None = load_cross_encoder(
        str(args.cross_encoder) if args.cross_encoder else "auto",
        cache=args.cache / "readers",
        quantization=args.quantization,
    )
    if cross_encoder is None:
        raise SystemExit("no cross-encoder: train one with python -m training.cross_encoder, or pass --cross-encoder")
    folder = args.cache / f"decision-{records_key(args, weights)}"
    train: list[Sample] = []
    dev: list[Sample] = []
    for specs, out in ((training_sets(args), train), (dev_sets(args), dev)):
        for spec in specs:
            part = cached(spec, folder, functools.partial(spec.build, cross_encoder, weights))
            out += part
            print(f"  {spec.name}: {len(part)} samples ({time.monotonic() - started:.0f}s)", file=sys.stderr)
    without = fit_ranker_decision(train, dev, weights, args)
    for s in train + dev:  # the cross-encoder's decision reads the refitted confidence, as serving will
        s.record.abstain_p = answer_probability(answer_features(s.record.candidates, s.record.ranking), weights)
    rw, report = fit(train, dev, args)
    report["without_cross_encoder"] = without
    weights.fitted["closest_threshold"] = weights.fitted["answer_threshold"] = (
        f"training.decision_fit: confident at {args.precision} precision on the dev sets together, decline under "
        f"{args.off_topic_share} of the off-topic questions; see cross_encoder.fitted.report.without_cross_encoder"
    )
    rw.fitted = {
        "cross_encoder": args.cross_encoder.name if args.cross_encoder else "auto",
        "precision": args.precision,
        "off_topic_share": args.off_topic_share,
        "samples": {src: sum(s.source == src for s in train) for src in sorted({s.source for s in train})},
        "fitted_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "report": report,
    }
    weights.cross_encoder = rw
    args.weights.write_text(json.dumps(weights.model_dump(), indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    print(f"wrote {args.weights} in {(time.monotonic() - started) / 60:.1f} min", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
