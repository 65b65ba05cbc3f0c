"""Train the embedder's LoRA adapter on SQuAD question -> answer-sentence pairs; write index/adapters/*.npz.

    python -m training.adapter --squad squad-train-v1.1.json.gz [--articles 45] [--max-steps 200]

Articles: SQuAD's training split shuffled with the fit's seed; the fit's training and validation articles (the
first 60) and the dev article (University_of_Notre_Dame) are left out, so neither the ranker's fit nor the dev
figures see a question the adapter learned from. Pairs: each question with the sentence of its paragraph that
holds the answer (sentences split by the engine's own splitter). Batches come from one article, so the in-batch
negatives are that article's other sentences: the adapter learns to tell apart sentences on one subject, which
is what a story asks of it. Loss: softmax over cosine x 20 (multiple negatives ranking). The LoRA layers are
peft's (the `train` extra: pip install -e '.[train]'); the file written is peft-free, merged by `index.adapter`.
Before and after, it prints "the article's best sentence by cosine holds the answer" on held-out articles.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.adapter import SHIPPED, write_adapter
from index.embedder import DEFAULT_MODEL, fingerprint, resolve_model

from .data import read_squad, squad_article
from .fit import DEV_ARTICLE

TARGETS = ("query", "value", "dense")
# Every query, value and dense Linear of the encoder's layers (the pooler's dense is unused by sentence embeddings).
TARGET_MODULES = r"encoder\.layer\.\d+\..*\.(query|value|dense)"
ADAPTER_NAME = "default"
Pair = tuple[str, int]  # question, row of its answer sentence in the article's sentence list


def article_pairs(raw: dict[str, Any]) -> tuple[list[str], list[Pair]]:
    """The article's sentences, and (question, answer sentence) for answers inside one sentence."""
    article = squad_article(raw)
    sentences: list[str] = []
    rows: dict[tuple[int, int], int] = {}
    for paragraph in article.story.paragraphs:
        for i in range(len(paragraph.sentences)):
            rows[(paragraph.number, i)] = len(sentences)
            sentences.append(paragraph.sentence_text(i))
    pairs: list[Pair] = []
    for question in article.questions:
        paragraph = article.story.paragraphs[(question.paragraph or 1) - 1]
        answers = [a.lower() for a in question.answers if a.strip()]
        for i in range(len(paragraph.sentences)):
            if any(a in paragraph.sentence_text(i).lower() for a in answers):
                pairs.append((question.question, rows[(paragraph.number, i)]))
                break
    return sentences, pairs


def best_sentence_rate(model: object, articles: Sequence[tuple[list[str], list[Pair]]]) -> float:
    """Share of questions whose best sentence by cosine, over the whole article, is the answer sentence."""
    hits = total = 0
    for sentences, pairs in articles:
        s = model.encode(sentences, batch_size=64, normalize_embeddings=True)  # type: ignore[attr-defined]
        q = model.encode([p[0] for p in pairs], batch_size=64, normalize_embeddings=True)  # type: ignore[attr-defined]
        best = np.argmax(q @ s.T, axis=1)
        hits += int(sum(int(b) == row for b, (_, row) in zip(best, pairs)))
        total += len(pairs)
    return hits / max(total, 1)


def add_lora(bert: Any, rank: int, alpha: int) -> dict[str, tuple[Any, Any]]:
    """Put peft LoRA layers (y = W x + alpha/rank * B A x, W frozen, B starting at zero) on every targeted Linear of
    the transformer, in place; returns each layer's trainable (A, B) by module name, the names `merge_into` finds."""
    from peft import LoraConfig, inject_adapter_in_model
    from peft.tuners.lora import LoraLayer

    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.1, target_modules=TARGET_MODULES, bias="none")
    inject_adapter_in_model(config, bert, adapter_name=ADAPTER_NAME)
    for name, parameter in bert.named_parameters():
        parameter.requires_grad_(".lora_" in name)
    return {
        name: (module.lora_A[ADAPTER_NAME].weight, module.lora_B[ADAPTER_NAME].weight)
        for name, module in bert.named_modules()
        if isinstance(module, LoraLayer)
    }


def lora_pairs(layers: dict[str, tuple[Any, Any]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The (A, B) matrices as numpy arrays: what `index.adapter.write_adapter` stores."""
    return {name: (a.detach().numpy().copy(), b.detach().numpy().copy()) for name, (a, b) in layers.items()}


def batches(
    articles: Sequence[tuple[list[str], list[Pair]]], size: int, rng: random.Random
) -> list[list[tuple[str, str]]]:
    """Batches of (question, answer sentence) from one article each, no sentence twice in a batch."""
    out: list[list[tuple[str, str]]] = []
    for sentences, pairs in articles:
        pool = list(pairs)
        rng.shuffle(pool)
        while pool:
            batch: list[tuple[str, str]] = []
            seen: set[int] = set()
            rest: list[Pair] = []
            for question, row in pool:
                if len(batch) < size and row not in seen:
                    batch.append((question, sentences[row]))
                    seen.add(row)
                else:
                    rest.append((question, row))
            if len(batch) >= 4:
                out.append(batch)
            pool = rest if len(batch) >= 4 else []
    rng.shuffle(out)
    return out


def train(args: argparse.Namespace) -> int:
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    raw = read_squad(args.squad, exclude=[DEV_ARTICLE])
    random.Random(args.seed).shuffle(raw)  # the fit's order: its articles are the first 60
    pool = raw[args.skip :]
    train_articles = [article_pairs(a) for a in pool[: args.articles]]
    held_out = [article_pairs(a) for a in pool[args.articles : args.articles + args.held_out]]
    pairs = sum(len(p) for _, p in train_articles)
    print(f"{len(train_articles)} articles, {pairs} training pairs; {len(held_out)} held-out articles", file=sys.stderr)

    st = SentenceTransformer(resolve_model(args.model), device="cpu", local_files_only=True)
    st.max_seq_length = 128
    before = best_sentence_rate(st, held_out)
    print(f"held-out best sentence holds the answer, before: {before:.3f}", file=sys.stderr)

    bert = st[0].auto_model
    layers = add_lora(bert, args.rank, args.alpha)
    params = [p for pair in layers.values() for p in pair]
    optimiser = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    plan = batches(train_articles, args.batch, random.Random(args.seed))
    steps = len(plan) * args.epochs
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup)))
    )
    st.train()
    started = time.monotonic()
    step = 0
    for _epoch in range(args.epochs):
        for batch in plan:
            if step >= args.max_steps or (args.minutes and time.monotonic() - started > args.minutes * 60):
                break
            q = st(st.tokenize([b[0] for b in batch]))["sentence_embedding"]
            s = st(st.tokenize([b[1] for b in batch]))["sentence_embedding"]
            q = torch.nn.functional.normalize(q, dim=-1)
            s = torch.nn.functional.normalize(s, dim=-1)
            loss = torch.nn.functional.cross_entropy(q @ s.T * 20.0, torch.arange(len(batch)))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            if step % 20 == 0:
                print(
                    f"  step {step}/{steps} loss {loss.item():.3f} {time.monotonic() - started:.0f}s", file=sys.stderr
                )
    st.eval()
    after = best_sentence_rate(st, held_out)
    print(f"held-out best sentence holds the answer, after: {after:.3f} ({step} steps)", file=sys.stderr)
    weights = lora_pairs(layers)
    meta = {
        "rank": args.rank,
        "alpha": args.alpha,
        "targets": list(TARGETS),
        "base_model": args.model,
        "base": fingerprint(args.model, "none"),
        "trained": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "articles": len(train_articles),
        "pairs": pairs,
        "steps": step,
        "lr": args.lr,
        "batch": args.batch,
        "held_out_best_sentence": {"before": round(before, 4), "after": round(after, 4)},
    }
    write_adapter(args.out, meta, weights)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.adapter", description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", type=Path, required=True, help="SQuAD v1.1 train JSON (.json or .json.gz)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--out", type=Path, default=SHIPPED)
    parser.add_argument("--articles", type=int, default=45, help="training articles (default 45, ~9,000 pairs)")
    parser.add_argument("--held-out", type=int, default=8, help="articles to measure before/after on")
    parser.add_argument("--skip", type=int, default=60, help="leading articles left to the ranker's fit (default 60)")
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--alpha", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument(
        "--max-steps", type=int, default=200, help="stop after this many steps (the schedule spans the epochs)"
    )
    parser.add_argument("--minutes", type=float, default=0.0, help="also stop after this long (0: no limit)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    return train(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
