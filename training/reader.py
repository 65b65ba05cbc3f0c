"""Train the reader (a cross-encoder over question + sentence); write a reader file (index/readers/*.npz).

    python -m training.reader --squad squad-train-v1.1.json.gz --squad2 squad-dev-v2.0-other-articles.json.gz \
        [--rank 0 --lr 5e-5] [--questions 3000] [--minutes 40] [--out data/readers/full.npz]

Starts from the packaged all-MiniLM-L6-v2 with a fresh one-logit head (BERT's pooler + classifier), trained by
sentence-transformers' CrossEncoderTrainer with binary cross-entropy. `--rank R` trains LoRA deltas (peft) on every
attention and feed-forward Linear plus the head; `--rank 0` fine-tunes every weight but the word embeddings, whose
file (44 MB) `training.reader_ship` shrinks to low-rank deltas for the repository. Data (see training.reader_data):
SQuAD v1.1 train questions from articles neither the ranker's fit nor the embedder adapter use (and never
University_of_Notre_Dame), and every question of SQuAD 2.0's training articles, answerable and not; a share of the
questions is rewritten as chat (`--chat-share`). Seeded; prints its time. With --eval it measures, before and
after, on held-out articles (training.reader_eval).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from index.embedder import DEFAULT_MODEL, fingerprint, load_encoder, resolve_model
from index.reader import SHIPPED, ReaderFile

from .reader_data import NEVER_TRAIN_V2, ArticleText, Pair, article_pairs, article_text, chat_spelled

DEV_ARTICLE = "University_of_Notre_Dame"
TARGETS = ("query", "key", "value", "dense")  # every Linear of the encoder layers; the pooler is trained whole
WHOLE = ("bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias")
FIT_AND_ADAPTER_ARTICLES = 105  # the ranker's fit uses the first 60 shuffled v1 articles, the adapter the next 45


def load_articles(args: argparse.Namespace) -> tuple[list[ArticleText], list[ArticleText], list[ArticleText]]:
    """(v1 training articles, v2 training articles, v1 held-out articles)."""
    from .data import read_squad

    v1 = read_squad(args.squad, exclude=[DEV_ARTICLE])
    random.Random(7).shuffle(v1)  # the fit's and the adapter's order: their articles come first
    pool = v1[args.skip :]
    wanted = -(-args.questions // args.per_article)
    train_v1 = [article_text(a) for a in pool[:wanted]]
    held_v1 = [article_text(a) for a in pool[wanted : wanted + args.held_out]]
    v2 = read_squad(args.squad2, exclude=NEVER_TRAIN_V2) if args.squad2 else []
    return train_v1, [article_text(a) for a in v2], held_v1


def build_pairs(args: argparse.Namespace, encoder: Any) -> list[Pair]:
    train_v1, train_v2, _ = load_articles(args)
    rng = random.Random(args.seed)
    pairs: list[Pair] = []
    everything = train_v1 + train_v2
    for article in everything:
        others = [a for a in everything if a is not article]
        cap = args.per_article if article in train_v1 else None
        pairs += article_pairs(article, others, encoder, rng, max_questions=cap)
        if encoder is not None and article in (train_v1[-1:] + train_v2[-1:]):
            encoder.save()  # the embeddings take minutes on 2 cores: a rerun reads them back
    rng.shuffle(pairs)
    pairs = chat_spelled(pairs, args.chat_share, random.Random(args.seed + 1))
    positives = sum(p.label > 0 for p in pairs)
    print(
        f"{len(train_v1)} SQuAD v1 + {len(train_v2)} SQuAD 2.0 articles: {len(pairs)} pairs, {positives} positive",
        file=sys.stderr,
    )
    return pairs


def lora_model(args: argparse.Namespace) -> Any:
    """A CrossEncoder on the packaged MiniLM with peft LoRA injected; only LoRA and the head train."""
    from peft import LoraConfig, inject_adapter_in_model
    from sentence_transformers.cross_encoder import CrossEncoder
    from transformers import logging

    logging.set_verbosity_error()  # the fresh head's "newly initialized" note
    ce = CrossEncoder(
        resolve_model(args.model), num_labels=1, max_length=args.max_length, device="cpu", local_files_only=True
    )
    config = LoraConfig(
        r=args.rank,
        lora_alpha=args.alpha,
        lora_dropout=0.1,
        target_modules=list(TARGETS),
        exclude_modules=["pooler.dense"],
    )
    if args.rank > 0:
        inject_adapter_in_model(config, ce[0].model)
    for name, parameter in ce[0].model.named_parameters():
        # rank 0 fine-tunes every weight but the word embeddings (12M of 23M, too big to ship as a delta)
        full_tune = args.rank == 0 and "word_embeddings" not in name
        parameter.requires_grad_(full_tune or "lora_" in name or name in WHOLE)
    return ce


def warm_start(ce: Any, reader: ReaderFile) -> None:
    """Continue from an earlier run's file: its LoRA pairs and whole parameters copied into the fresh model."""
    import torch

    modules = dict(ce[0].model.named_modules())
    params = dict(ce[0].model.named_parameters())
    with torch.no_grad():
        for name, (a, b) in reader.lora.items():
            modules[name].lora_A["default"].weight.copy_(torch.from_numpy(a))
            modules[name].lora_B["default"].weight.copy_(torch.from_numpy(b))
        for name, value in reader.full.items():
            key = name if name in params else name.replace("dense.", "dense.base_layer.")
            params[key].copy_(torch.from_numpy(value))


def reader_file(ce: Any, args: argparse.Namespace, extra: dict[str, Any]) -> ReaderFile:
    """The trained deltas and head as a ReaderFile (LoRA A/B by the base model's module names)."""
    model = ce[0].model
    lora: dict[str, tuple[Any, Any]] = {}
    full: dict[str, Any] = {}
    for name, module in model.named_modules():
        if hasattr(module, "lora_A") and "default" in getattr(module, "lora_A", {}):
            a = module.lora_A["default"].weight.detach().numpy().copy()
            b = module.lora_B["default"].weight.detach().numpy().copy()
            lora[name] = (a, b)
    params = dict(model.named_parameters())
    whole = WHOLE if args.rank > 0 else tuple(n for n, p in params.items() if p.requires_grad)
    for name in whole:
        full[name.replace(".base_layer", "")] = params[name].detach().numpy().copy()
    meta = {
        "rank": max(args.rank, 1),
        "alpha": args.alpha if args.rank > 0 else 1.0,
        "targets": list(TARGETS),
        "base_model": args.model,
        "base": fingerprint(args.model, "none"),
        "max_length": args.max_length,
        "trained": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **extra,
    }
    return ReaderFile(meta, lora, full)


def train(args: argparse.Namespace) -> int:
    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
    from transformers import TrainerCallback

    started = time.monotonic()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    from .data import DiskCachedEncoder

    encoder = DiskCachedEncoder(load_encoder(args.model), args.cache) if args.dense else None
    pairs = build_pairs(args, encoder)
    if encoder is not None:
        encoder.save()
    pairs = pairs[args.skip_pairs :]
    if args.max_pairs:
        pairs = pairs[: args.max_pairs]
    data = Dataset.from_dict(
        {
            "question": [p.question for p in pairs],
            "sentence": [p.sentence for p in pairs],
            "label": [p.label for p in pairs],
        }
    )
    print(f"data ready in {time.monotonic() - started:.0f}s", file=sys.stderr)
    ce = lora_model(args)
    if args.init:
        warm_start(ce, ReaderFile.read(args.init))
    trainable = sum(p.numel() for p in ce.parameters() if p.requires_grad)
    print(f"trainable parameters: {trainable:,} (rank {args.rank})", file=sys.stderr)

    limit = args.minutes * 60

    class TimeLimit(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if limit and time.monotonic() - train_start > limit:
                control.should_training_stop = True
            return control

    out_dir = args.cache / "reader-run"
    training_args = CrossEncoderTrainingArguments(
        output_dir=str(out_dir),
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch,
        learning_rate=args.lr,
        warmup_ratio=0.1,
        weight_decay=0.0,
        seed=args.seed,
        data_seed=args.seed,
        logging_steps=25,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        dataloader_num_workers=0,
        disable_tqdm=True,
        max_steps=args.max_steps or -1,
    )
    trainer = CrossEncoderTrainer(
        model=ce,
        args=training_args,
        train_dataset=data,
        loss=BinaryCrossEntropyLoss(ce),
        callbacks=[TimeLimit()],
    )
    train_start = time.monotonic()
    result = trainer.train()
    minutes = (time.monotonic() - train_start) / 60
    print(f"trained {result.global_step} steps in {minutes:.1f} min on {args.threads} threads", file=sys.stderr)
    ce.eval()
    extra = {
        "pairs": len(pairs),
        "steps": int(result.global_step),
        "lr": args.lr,
        "batch": args.batch,
        "seed": args.seed,
        "questions_v1": args.questions,
        "init": args.init.name if args.init else None,
        "skip_pairs": args.skip_pairs,
        "chat_share": args.chat_share,
        "train_minutes": round(minutes, 1),
    }
    reader = reader_file(ce, args, extra)
    reader.write(args.out)  # before the check below: a failing check must not lose the run
    if args.eval:
        from .reader_eval import evaluate_reader

        reader.meta["held_out"] = evaluate_reader(reader, args)
        reader.write(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    print(f"total {(time.monotonic() - started) / 60:.1f} min", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training.reader", description=__doc__.split("\n\n")[0])
    p.add_argument("--squad", type=Path, required=True, help="SQuAD v1.1 train JSON (.json or .json.gz)")
    p.add_argument("--squad2", type=Path, help="SQuAD 2.0 dev articles JSON (../shared/eval/...other-articles)")
    p.add_argument("--out", type=Path, default=SHIPPED)
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--questions", type=int, default=3000, help="SQuAD v1 questions (default 3000)")
    p.add_argument("--per-article", type=int, default=30, help="at most this many questions per v1 article")
    p.add_argument(
        "--skip",
        type=int,
        default=FIT_AND_ADAPTER_ARTICLES,
        help="leading shuffled v1 articles left to the fit and the adapter",
    )
    p.add_argument("--held-out", type=int, default=6, help="v1 articles after the training ones, for --eval")
    p.add_argument(
        "--rank",
        type=int,
        default=16,
        help="LoRA rank; 0 fine-tunes every weight but the word embeddings (then: training.reader_ship)",
    )
    p.add_argument("--alpha", type=float, default=32.0)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: the epochs)")
    p.add_argument("--init", type=Path, help="continue from this reader file (same rank and alpha)")
    p.add_argument(
        "--skip-pairs", type=int, default=0, help="leave out the first N shuffled pairs (seen by --init's run)"
    )
    p.add_argument("--max-pairs", type=int, default=0, help="train on the first N shuffled pairs only (0: all)")
    p.add_argument("--minutes", type=float, default=40.0, help="stop training after this long (0: no limit)")
    p.add_argument("--no-dense", dest="dense", action="store_false", help="skip the embedder's negatives")
    p.add_argument("--eval", action="store_true", help="measure on held-out articles after training")
    p.add_argument("--top", type=int, default=10, help="fused candidates the reader reads in --eval")
    p.add_argument("--eval-questions", type=int, default=400, help="questions per held-out set for --eval")
    p.add_argument(
        "--chat-share",
        type=float,
        default=0.15,
        help="share of questions rewritten as chat (lower case, no '?', 'u', 'ppl'...): readers type like that",
    )
    p.add_argument("--cache", type=Path, default=Path("data/cache"), help="embedding cache folder")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=7)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return train(parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
