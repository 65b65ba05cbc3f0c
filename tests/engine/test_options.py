"""Settings reach the engine as one `EngineOptions`, and importing the engine leaves the environment alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.settings import Settings
from index import EngineOptions, Library
from index.offline import DEFAULTS

IMPORT_ONLY = """
import os
before = dict(os.environ)
import index, index.build, index.live, index.library
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
print(",".join(changed))
"""


def test_importing_the_engine_changes_no_environment_variable() -> None:
    env = {k: v for k, v in os.environ.items() if k not in DEFAULTS}
    done = subprocess.run([sys.executable, "-c", IMPORT_ONLY], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_the_settings_map_to_engine_options_field_by_field(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        model="some-model",
        model_adapter="none",
        cross_encoder_model="auto",
        quantization="fp32",
        index_type="flat",
        model_cache=tmp_path,
        database_url="postgresql://u:secret@host/db",
        encoder_threads=0,
    )
    options = settings.engine_options()
    assert options == EngineOptions(
        model="some-model",
        adapter="none",
        cross_encoder="auto",
        quantization="fp32",
        index_type="flat",
        model_cache=tmp_path,
        database="postgresql://u:secret@host/db",
        encoder_threads=0,
    )
    assert "secret" not in repr(options)


def test_a_library_loaded_with_the_options_checks_their_model(built_index: Path) -> None:
    library = Library.load(built_index, EngineOptions(encoder_threads=2))  # the packaged model: accepted
    assert library.ask("How many White Helmets are still trapped in Syria?").shows_quotes
