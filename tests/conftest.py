"""Shared fixtures: one real embedding model and one real index per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index import Encoder, Library, build_index, load_encoder
from index.offline import hub_offline

hub_offline()  # a few tests load transformers themselves: offline, as the engine's own loads are

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
SEED_SLUG = "white-helmets-trapped-in-syria"


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The packaged all-MiniLM-L6-v2, loaded once (offline)."""
    return load_encoder()


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Path:
    """A real index of the shipped content, built once per session."""
    index_dir = tmp_path_factory.mktemp("index")
    report = build_index(CONTENT, index_dir, encoder=encoder)
    assert report.ok, report.errors
    return index_dir


@pytest.fixture(scope="session")
def library(built_index: Path, encoder: Encoder) -> Library:
    return Library.load(built_index, encoder=encoder)


@pytest.fixture(scope="session")
def postgres_server():  # type: ignore[no-untyped-def]
    """One throwaway PostgreSQL with pgvector for the whole session (started on first use, about 1-4 s)."""
    from .support.postgres import ThrowawayPostgres

    server = ThrowawayPostgres()
    yield server
    server.close()


@pytest.fixture
def database_url(postgres_server) -> str:  # type: ignore[no-untyped-def]
    """A fresh database on the session's server, with pgvector: a DATABASE_URL no other test uses."""
    return str(postgres_server.new_database())


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped stories."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


# ----------------------------------------------------------------- the Discord bot on SimCord
# `simcord_env` (from SimCord's pytest plugin) runs the bot these fixtures build. Override per test with
# indirect parametrisation, e.g. @pytest.mark.parametrize("bot_settings", [{"reply_style": "plain"}], indirect=True).
@pytest.fixture
def bot_settings(request: pytest.FixtureRequest, built_index: Path):  # type: ignore[no-untyped-def]
    from .support.botkit import make_settings

    return make_settings(built_index, CONTENT, **getattr(request, "param", {}))


@pytest.fixture
def bot_library(library: Library) -> Library:
    """The Library the SimCord bot serves: the session's real one unless a test overrides this fixture."""
    return library


@pytest.fixture
def simcord_bot(bot_settings, bot_library: Library):  # type: ignore[no-untyped-def]
    from bot import create_bot

    return create_bot(bot_settings, bot_library)


@pytest.fixture
def world(simcord_env):  # type: ignore[no-untyped-def]
    """A guild with #general and a reader, alice: (guild, channel, alice)."""
    guild = simcord_env.create_guild()
    channel = guild.create_text_channel("general")
    alice = guild.add_member(simcord_env.create_user("alice"))
    return guild, channel, alice


@pytest.fixture(autouse=True)
def _simcord_checks_embed_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    """SimCord checks embed sizes but not embed urls: add Discord's url rule (50035 Invalid Form Body), the one
    the loopback fake Discord enforces, so a SimCord test of a story with a bad url fails as on Discord."""
    import simcord.components as components

    from .support.fake_discord import embed_url_errors

    real = components.validate_embeds

    def validate(embeds: object) -> None:
        real(embeds)
        for i, embed in enumerate(embeds if isinstance(embeds, list) else []):
            for path, message in embed_url_errors(embed):
                raise components.ComponentValidationError(f"embeds[{i}].{'.'.join(path)}: {message}")

    monkeypatch.setattr(components, "validate_embeds", validate)
