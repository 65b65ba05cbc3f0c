"""benchmarks.perf_commands writes the library it claims to time, and its throughput table renders (no timings are
measured or asserted here)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from benchmarks.perf_commands import ROWS, table, write_library
from benchmarks.squad2 import HELD_OUT
from index import load_stories


def _squad(path: Path) -> Path:
    def article(title: str, paragraphs: int) -> dict[str, object]:
        return {
            "title": title,
            "paragraphs": [
                {
                    "context": f"{title} paragraph {n} says a thing.  It says   another. ",
                    "qas": [{"question": f"What does {title} {n} say ({q})?"} for q in range(3)],
                }
                for n in range(paragraphs)
            ],
        }

    data = {"data": [article(HELD_OUT[0], 5), article("Steam_engine", 4), article("Oxygen", 4), article("Rhine", 4)]}
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(data, handle)
    return path


def test_the_library_is_cut_at_its_size_outside_the_held_out_articles(tmp_path: Path) -> None:
    library = write_library(_squad(tmp_path / "dev.json.gz"), tmp_path / "run", paragraphs=6, questions=10)
    loaded = load_stories(library.content)
    assert not loaded.errors
    by_slug = {s.slug: s for s in loaded.stories}
    assert set(by_slug) == {"steam-engine", "oxygen"}  # the held-out article is never used; Rhine is past the cut
    assert [len(by_slug[s].paragraphs) for s in ("steam-engine", "oxygen")] == [4, 2]
    assert by_slug["oxygen"].title == "Oxygen"
    assert by_slug["oxygen"].paragraphs[0].text == "Oxygen paragraph 0 says a thing. It says another."
    assert (library.articles, library.paragraphs, library.questions) == (2, 6, 10)
    asked = [json.loads(line)["question"] for line in library.batch.read_text(encoding="utf-8").splitlines()]
    assert len(asked) == len(set(asked)) == 10
    assert asked[0] == "What does Steam_engine 0 say (0)?" and asked[-1].startswith("What does Oxygen 1")


def test_the_table_gives_each_command_its_ratio_and_goal() -> None:
    def run(wall: float) -> dict[str, float]:
        return {"wall_s": wall, "cpu_s": wall * 1.5, "lines": 1}

    figures = {
        "library": {"articles": 6, "paragraphs": 254, "questions": 1793},
        "build": {"ours": run(10.0), "naive": run(40.0)},
        "build_cold": {"ours": run(30.0), "naive": run(40.0)},
        "ask": {"ours": run(5.0), "naive": run(50.0), "ratios": [0.12, 0.1, 0.09]},
    }
    lines = table(figures).splitlines()
    assert lines[0].startswith("Whole commands on 6 SQuAD 2.0 articles, 254 paragraphs, 1,793 questions")
    rows = {line.split(" | ")[0].strip("| "): line for line in lines if line.startswith("| `")}
    assert set(rows) == set(ROWS.values())
    assert "| 10.0 | 40.0 | 0.25× | ≤ 0.5× | met | 15.0 / 60.0 |" in rows[ROWS["build"]]
    assert "| 0.75× | ≤ 0.5× | NOT met |" in rows[ROWS["build_cold"]]
    assert "| 0.10× | ≤ 0.2× | met |" in rows[ROWS["ask"]]
    assert lines[-1] == "`ask --batch`: the pair with the median ratio of 3, each naive then ours: 0.12×, 0.10×, 0.09×."
