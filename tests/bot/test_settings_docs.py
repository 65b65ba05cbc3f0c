"""One source for the settings: `.env.example` and docs/configuration.md are what the `Settings` fields say."""

from __future__ import annotations

from pathlib import Path

from bot import settings_docs
from bot.settings import Settings, load_settings

from ..conftest import ROOT


def test_the_committed_env_example_and_table_are_generated_from_the_fields() -> None:
    """Fails when a setting is added or changed without `python -m bot.settings_docs --write`."""
    assert (ROOT / ".env.example").read_text(encoding="utf-8") == settings_docs.env_example()
    assert (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8") == settings_docs.markdown()


def test_every_setting_is_described_and_listed() -> None:
    env, table = settings_docs.env_example(), settings_docs.markdown()
    for name, field in Settings.model_fields.items():
        assert field.description and len(field.description) > 15, f"{name.upper()} needs a description"
        assert f"\n{name.upper()}=" in env and f"| `{name.upper()}` |" in table


def test_the_env_example_as_written_is_valid_and_gives_the_defaults(tmp_path: Path) -> None:
    """Copied to .env unchanged, it starts (an empty DISCORD_GUILD_ID used to stop start-up)."""
    env = tmp_path / ".env"
    env.write_text(settings_docs.env_example(), encoding="utf-8")
    assert load_settings(_env_file=env) == load_settings(_env_file=None)


def test_values_say_each_range_and_choice() -> None:
    table = settings_docs.markdown()
    assert "| `COOLDOWN_SECONDS` | `60` | > 0, ≤ 86,400 |" in table
    assert "| `REPLY_STYLE` | `embed` | embed / plain |" in table
    assert "| `TOP_K` | `3` | 1 to 3 |" in table
    assert "| `DISCORD_GUILD_ID` | (empty) | a Discord id, or empty |" in table
