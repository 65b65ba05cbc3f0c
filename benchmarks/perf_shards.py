"""Memory of two processes serving one index: the FAISS files copied into each (faiss's default) or memory-mapped
(`index.store.READ_FLAGS`, what the bot does), measured in the same run.

    python -m benchmarks.perf_shards [--stories 2000] [--index DATA/INDEX]

1. Vectors: `--stories` synthetic stories (10 paragraphs and 40 sentences each, `perf_engine.Clustered`, the
   kinds `INDEX_TYPE=auto` picks) written as FAISS files; two child processes each open them the way
   `store.read_build` does and run 200 searches as the engine does (one thread). Then, with both alive, each one's
   RSS and PSS (its share of pages it shares with others: a file page mapped by both counts half in each) are
   read from /proc. RSS counts a shared page in full in every process, so PSS summed over the processes is
   what the machine really spends.
2. Bots (with `--index`, a folder `newsroom-bot build` made): two real `newsroom-bot run` processes, SHARD_COUNT=2
   and SHARD_IDS=0 / 1, against the loopback fake Discord, each answering one question; the same figures.
Linux only (/proc). Prints figures; asserts nothing about them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

import faiss

FLAGS = {"copied": 0, "mapped": None}  # None: index.store.READ_FLAGS
QUESTION = "How many White Helmets are still trapped in Syria?"


def memory(pid: int) -> dict[str, float]:
    """RSS, PSS and private (unshared) memory of `pid`, in MB, from /proc/<pid>/smaps_rollup."""
    out: dict[str, float] = {"private": 0.0}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            out[key.lower()] = int(rest.split()[0]) / 1024
        elif key in ("Private_Clean", "Private_Dirty"):
            out["private"] += int(rest.split()[0]) / 1024
    return out


def _flags(mode: str) -> int:
    from index.store import READ_FLAGS

    return READ_FLAGS if FLAGS[mode] is None else int(FLAGS[mode])  # type: ignore[arg-type]


def write_vectors(folder: Path, stories: int) -> float:
    """paragraphs.faiss and sentences.faiss for `stories` synthetic stories; their size in MB."""
    from .perf import synthetic_indexes

    for name, index in zip(("paragraphs", "sentences"), synthetic_indexes(stories, "auto"), strict=True):
        faiss.write_index(index, str(folder / f"{name}.faiss"))
    return sum((folder / f"{n}.faiss").stat().st_size for n in ("paragraphs", "sentences")) / 2**20


def vector_child(folder: Path, mode: str) -> None:
    """Open the two files as read_build does, search like the engine, say 'ready', wait for stdin to close."""
    from index.vectors import RowVectors, search_on_one_thread

    from .perf_engine import Clustered

    search_on_one_thread()
    indexes = [faiss.read_index(str(folder / f"{n}.faiss"), _flags(mode)) for n in ("paragraphs", "sentences")]
    rows = [RowVectors(index) for index in indexes]  # as the engine wraps them (IVF: its direct map)
    queries = Clustered().chunk(200, 99)
    for index, view in zip(indexes, rows, strict=True):
        for q in queries:
            _, ids = index.search(q[None, :], 40)
            _ = view[ids[0][ids[0] >= 0]] @ q  # the candidates' vectors, read as the ranker reads them
    print("ready", flush=True)
    sys.stdin.read()


async def two_children(argv: list[list[str]], env: dict[str, str] | None = None) -> list[dict[str, float]]:
    """Start both, wait until both say ready, read both processes' memory, then let them exit."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env
        )
        for args in argv
    ]
    try:
        for p in procs:
            line = await asyncio.wait_for(p.stdout.readline(), 600)  # type: ignore[union-attr]
            if line.strip() != b"ready":
                raise RuntimeError(f"child {p.pid} failed: {line!r}")
        return [memory(p.pid) for p in procs]
    finally:
        for p in procs:
            p.stdin.close()  # type: ignore[union-attr]
            await p.wait()


def vectors(stories: int) -> None:
    with tempfile.TemporaryDirectory(prefix="perf-shards-") as tmp:
        size = write_vectors(Path(tmp), stories)
        print(f"vectors: {stories:,} synthetic stories = {stories * 50:,} vectors, FAISS files {size:.0f} MB")
        for mode in FLAGS:
            child = ["-m", "benchmarks.perf_shards", "--child", tmp, mode]
            figures = asyncio.run(two_children([child, child]))
            _print(f"  {mode:7}", figures)


async def _bots(index_dir: Path, mode: str) -> list[dict[str, float]]:
    """Two `newsroom-bot run` processes (shards 0 and 1 of 2) serving `index_dir`, one question answered by each."""
    from tests.support.bot_process import spawn, stop
    from tests.support.fake_discord import FakeDiscord

    async with FakeDiscord(lifetime=600) as fake:
        first = (fake.guild_id >> 22) % 2
        guilds = {first: fake.guild_id, 1 - first: fake.add_guild(shard=(1 - first, 2))[0]}
        with tempfile.TemporaryDirectory(prefix="perf-shards-") as tmp:
            env = {"DISCORD_TOKEN": fake.token, "INDEX_DIR": str(index_dir), "SHARD_COUNT": "2",
                   "QUESTION_LOG_ENABLED": "false", "QUESTION_LOG_PATH": f"{tmp}/q.sqlite3",
                   "INDEX_WATCH_SECONDS": "0"}  # fmt: skip
            launcher = ("-m", "benchmarks.perf_shards", "--bot-child", mode)
            procs = [
                await spawn(fake.http_url, fake.ws_url, env | {"SHARD_IDS": str(i)}, log=Path(tmp, f"{i}.log"),
                            cwd=Path(tmp), launcher=launcher)
                for i in (0, 1)
            ]  # fmt: skip
            try:
                first_guild = await fake.wait_for_frame(0, "GUILD_CREATE", direction="out", timeout=300)
                after = fake.frames.index(first_guild) + 1
                await fake.wait_for_frame(0, "GUILD_CREATE", direction="out", after=after, timeout=300)
                for guild in guilds.values():
                    message = fake.message_payload(
                        f"<@{fake.bot_id}> {QUESTION}", mentions=[fake.bot_user], guild_id=guild
                    )
                    await fake.dispatch("MESSAGE_CREATE", message)
                    await fake.wait_for_request("POST", f"/channels/{fake.guilds[guild]}/messages", timeout=300)
                return [memory(p.pid) for p in procs]
            finally:
                await asyncio.gather(*(stop(p) for p in procs))


def bot_child(mode: str, urls: list[str]) -> int:
    """`newsroom-bot run` (tests/support/bot_process.py) with the FAISS files read the `mode` way."""
    import index.store
    from tests.support.bot_process import main as run

    index.store.READ_FLAGS = _flags(mode)
    return run(urls)


def bots(index_dir: Path) -> None:
    print(f"bots: two `newsroom-bot run` processes (SHARD_COUNT=2, SHARD_IDS=0 / 1) serving {index_dir}")
    for mode in FLAGS:
        _print(f"  {mode:7}", asyncio.run(_bots(index_dir, mode)))


def _print(label: str, figures: list[dict[str, float]]) -> None:
    each = "  ".join(f"RSS {f['rss']:.0f} / PSS {f['pss']:.0f} / private {f['private']:.0f}" for f in figures)
    print(f"{label} {each}   PSS summed {sum(f['pss'] for f in figures):.0f} MB", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stories", type=int, default=2000, help="synthetic stories for the vector figures")
    parser.add_argument("--index", type=Path, help="a built index: also measure two real bot processes on it")
    parser.add_argument("--child", nargs=2, metavar=("FOLDER", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--bot-child", nargs=3, metavar=("MODE", "HTTP", "WS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bot_child:
        return bot_child(args.bot_child[0], args.bot_child[1:])
    if args.child:
        vector_child(Path(args.child[0]), args.child[1])
        return 0
    print(f"two processes, memory in MB (each process: RSS / PSS / private); {os.cpu_count()} cores, shared")
    vectors(args.stories)
    if args.index:
        bots(args.index)
    return 0


if __name__ == "__main__":
    sys.exit(main())
