"""Train the cross-encoder (question and sentence read together); write its file (index/cross_encoders/*.npz).

    python -m training.cross_encoder --squad squad-train-v1.1.json.gz --squad2 squad-dev-v2.0-other-articles.json.gz \
        [--rank 0 --lr 5e-5] [--questions 3000] [--minutes 40] [--out data/cross_encoders/full.npz]

Starts from the packaged all-MiniLM-L6-v2 with a fresh one-logit head (BERT's pooler + classifier), trained by
sentence-transformers' CrossEncoderTrainer with binary cross-entropy. `--rank R` trains LoRA deltas (peft) on every
attention and feed-forward Linear plus the head; `--rank 0` fine-tunes every weight but the word embeddings, whose
file (44 MB) `training.cross_encoder_ship` shrinks to low-rank deltas for the repository. Data (see training.cross_encoder_data):
SQuAD v1.1 train questions from articles neither the ranker's fit nor the embedder adapter use (and never
University_of_Notre_Dame), and every question of SQuAD 2.0's training articles, answerable and not; a share of the
questions is rewritten as chat (`--chat-share`). Seeded; prints its time. With --eval it measures, before and
after, on held-out articles (training.cross_encoder_eval).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from typing import Any

from index.cross_encoder import CrossEncoderFile
from index.embedder import fingerprint, load_encoder, resolve_model

from .cross_encoder_args import load_articles, parser
from .cross_encoder_data import Pair, article_pairs, chat_spelled
from .real_pairs import real_query_pairs, with_variants

TARGETS = ("query", "key", "value", "dense")  # every Linear of the encoder layers; the pooler is trained whole
WHOLE = ("bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias")


def build_pairs(args: argparse.Namespace, encoder: Any) -> list[Pair]:
    train_v1, train_v2, _ = load_articles(args)
    rng = random.Random(args.seed)
    pairs: list[Pair] = []
    everything = train_v1 + train_v2
    for article in everything:
        others = [a for a in everything if a is not article]
        cap = args.per_article if article in train_v1 else args.v2_per_article or None
        pairs += article_pairs(article, others, encoder, rng, max_questions=cap)
        if encoder is not None and article in (train_v1[-1:] + train_v2[-1:]):
            encoder.save()  # the embeddings take minutes on 2 cores: a rerun reads them back
    squad = len(pairs)
    pairs = chat_spelled(pairs, args.chat_share, random.Random(args.seed + 1))
    pairs += real_query_pairs(args, encoder, rng)
    rng.shuffle(pairs)
    pairs = with_variants(pairs, args.variant_share, random.Random(args.seed + 2))
    pairs = as_read(pairs)
    rng.shuffle(pairs)
    positives = sum(p.label > 0 for p in pairs)
    print(
        f"{len(train_v1)} SQuAD v1 + {len(train_v2)} SQuAD 2.0 articles ({squad} pairs), real queries and the "
        f"reader-style set: {len(pairs)} pairs with variants, {positives} positive",
        file=sys.stderr,
    )
    return pairs


def as_read(pairs: list[Pair]) -> list[Pair]:
    """Each question as the engine reads it at serving time (`Library.reading_of`: markup gone, normal form), with
    the training sentences' words as the library's."""
    from index.canonical import QuestionForm
    from index.cleaning import clean_question

    form = QuestionForm.of(sorted({p.sentence for p in pairs}))
    read = {q: form.normal(clean_question(q)) or q for q in {p.question for p in pairs}}
    return [Pair(read[p.question], p.sentence, p.label) for p in pairs]


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
        full_tune = args.rank == 0 and "word_embeddings" not in name and not frozen(name, args.freeze_layers)
        parameter.requires_grad_(full_tune or "lora_" in name or name in WHOLE)
    return ce


def frozen(name: str, layers: int) -> bool:
    """Whether `--freeze-layers` keeps this parameter as it is: the embeddings and the first `layers` encoder layers
    (training the top layers only costs about half the backward pass, which matters on 2 shared cores)."""
    if layers <= 0:
        return False
    if ".embeddings." in name:
        return True
    return any(f".encoder.layer.{i}." in name for i in range(layers))


def warm_start(ce: Any, cross_encoder: CrossEncoderFile) -> None:
    """Continue from an earlier run's file: its LoRA pairs and whole parameters copied into the fresh model, or,
    when the model has no LoRA layers (`--rank 0`), the file's deltas merged into its weights."""
    import torch

    from index.cross_encoder import merge_into

    modules = dict(ce[0].model.named_modules())
    if not any(hasattr(m, "lora_A") for m in modules.values()):
        merge_into(ce[0].model, cross_encoder)
        return
    params = dict(ce[0].model.named_parameters())
    with torch.no_grad():
        for name, (a, b) in cross_encoder.lora.items():
            modules[name].lora_A["default"].weight.copy_(torch.from_numpy(a))
            modules[name].lora_B["default"].weight.copy_(torch.from_numpy(b))
        for name, value in cross_encoder.full.items():
            key = name if name in params else name.replace("dense.", "dense.base_layer.")
            params[key].copy_(torch.from_numpy(value))


def cross_encoder_file(ce: Any, args: argparse.Namespace, extra: dict[str, Any]) -> CrossEncoderFile:
    """The trained deltas and head as a CrossEncoderFile (LoRA A/B by the base model's module names)."""
    model = ce[0].model
    lora: dict[str, tuple[Any, Any]] = {}
    full: dict[str, Any] = {}
    for name, module in model.named_modules():
        if hasattr(module, "lora_A") and "default" in getattr(module, "lora_A", {}):
            a = module.lora_A["default"].weight.detach().numpy().copy()
            b = module.lora_B["default"].weight.detach().numpy().copy()
            lora[name] = (a, b)
    params = dict(model.named_parameters())
    # rank 0: every weight but the word embeddings, trained or not (a frozen layer still holds --init's values)
    whole = WHOLE if args.rank > 0 else tuple(n for n in params if "word_embeddings" not in n)
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
    return CrossEncoderFile(meta, lora, full)


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
        warm_start(ce, CrossEncoderFile.read(args.init))
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
        "variant_share": args.variant_share,
        "freeze_layers": args.freeze_layers,
        "real_queries": {
            "qed": args.qed.name if args.qed else None,
            "qed_questions": args.qed_questions,
            "quiz": args.quiz.name if args.quiz else None,
            "quiz_questions": args.quiz_questions,
            "reader_set": args.reader_set,
            "v2_per_article": args.v2_per_article,
        },
        "kind": "reader",  # the file's meta, as the export's names, predates the rename
        "train_minutes": round(minutes, 1),
    }
    cross_encoder = cross_encoder_file(ce, args, extra)
    cross_encoder.write(args.out)  # before the check below: a failing check must not lose the run
    if args.eval:
        from .cross_encoder_eval import evaluate_cross_encoder

        cross_encoder.meta["held_out"] = evaluate_cross_encoder(cross_encoder, args)
        cross_encoder.write(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    print(f"total {(time.monotonic() - started) / 60:.1f} min", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return train(parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
