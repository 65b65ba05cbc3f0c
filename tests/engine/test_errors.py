"""The engine's errors: one root class that every error it raises on purpose shares, all exported by `index`."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import index
from index import EngineError, errors
from index.ranking import load_weights

ENGINE_ERRORS = [c for c in vars(errors).values() if inspect.isclass(c) and issubclass(c, BaseException)]


def test_every_engine_error_is_under_the_root_and_exported() -> None:
    assert len(ENGINE_ERRORS) > 10
    for cls in ENGINE_ERRORS:
        assert issubclass(cls, EngineError), cls
        assert getattr(index, cls.__name__) is cls and cls.__name__ in index.__all__, cls


@pytest.mark.parametrize("text", ["{not json", '{"answer_threshold": "high"}'])
def test_a_bad_weights_file_is_an_engine_error_naming_it(tmp_path: Path, text: str) -> None:
    path = tmp_path / "weights.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EngineError, match=rf"{path} is not a usable weights file .*training.fit"):
        load_weights(path)
