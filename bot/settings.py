"""Settings from the environment and `.env`, checked at start-up.

Each field's description is the one documentation of its variable: `.env.example` and docs/configuration.md are
generated from these fields (`python -m bot.settings_docs --write`; a test checks they agree). The token is a
`SecretStr`: its repr and str are masked, so it cannot leak into logs or tracebacks by accident.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .envfile import env_file_problems

if TYPE_CHECKING:
    from index import EngineOptions

MAX_SHARDS = 10_000  # Discord's largest bots run a few thousand
MAX_RETENTION_DAYS = 36_500  # a century: the longest the question log keeps questions, and so `report --since`
# A Discord id (snowflake): a positive 64-bit number.
Snowflake = Annotated[int, Field(ge=1, lt=2**63)]
IdList = Annotated[list[Snowflake], NoDecode]
ShardList = Annotated[list[Annotated[int, Field(ge=0, lt=MAX_SHARDS)]], NoDecode]
DAY = 86_400.0
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
SECRET_VARIABLES = frozenset({"DISCORD_TOKEN", "QUESTION_LOG_SALT", "DATABASE_URL"})  # never echoed in an error


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False)

    discord_token: SecretStr | None = Field(
        default=None,
        description="Bot token from https://discord.com/developers/applications -> your app -> Bot -> Reset Token. "
        "Keep it secret. Without it, `make run` answers questions in the terminal instead.",
    )
    discord_guild_id: Snowflake | None = Field(
        default=None,
        description="Sync slash commands to this one server (instant); empty = global (can take up to an hour the "
        "first time).",
    )
    answer_channel_ids: IdList = Field(
        default_factory=list,
        description="Channels where every message is treated as a question (comma-separated ids). Needs the Message "
        "Content intent.",
    )
    admin_role_ids: IdList = Field(
        default_factory=list,
        description="Roles allowed to run /reindex, /report, /story set and /story clear (comma-separated ids). Manage "
        "Server also works.",
    )
    index_dir: Path = Field(default=Path("data/index"), description="Where the built index lives.")
    content_dir: Path = Field(
        default=Path("content"), description="Where the story files are (.md, .markdown or .txt, one story each)."
    )
    model: str = Field(
        default="all-MiniLM-L6-v2",
        description="Embedding model: all-MiniLM-L6-v2 (packaged, offline) or a local sentence-transformers folder.",
    )
    model_adapter: str = Field(
        default="auto",
        description="LoRA adapter merged into the model when the index is built: auto (the shipped question->answer "
        "adapter, for the packaged model only), none (the model as published), or a path to an adapter .npz "
        "made by training.adapter.",
    )
    cross_encoder_model: str = Field(
        default="none",
        validation_alias=AliasChoices("cross_encoder_model", "reader_model"),
        description="The cross-encoder (a model that reads question and sentence together) exported beside the index "
        "at build time: none (the default: the ranker alone decides; the shipped cross-encoder did not beat it on the "
        "dev sets yet), auto (the shipped one, for the packaged model only), or a cross-encoder .npz made by "
        "training.cross_encoder. READER_MODEL, its name until this release, is still read (deprecated: it goes in the "
        "next release).",
    )
    quantization: Literal["int8", "fp32"] = Field(
        default="int8",
        description="ONNX model that embeds stories and questions: int8 (about 2x faster, same answer quality) or fp32 "
        "(exact model output). Stories and questions are always encoded alike: changing this re-embeds at the"
        " next build.",
    )
    index_type: Literal["auto", "flat", "ivf", "hnsw"] = Field(
        default="auto",
        description="FAISS index kind: auto (exact flat up to 20,000 vectors, IVF above), flat, ivf or hnsw.",
    )
    model_cache: Path | None = Field(
        default=None,
        description="Folder of the models' ONNX exports (embedder and cross-encoder), made once per model and shared by every "
        "index built on this machine; each index links the files it serves. Empty = ~/.cache/newsroom-bot. Safe to "
        "delete: the next build exports again.",
    )
    encoder_threads: int = Field(
        default=1,
        ge=0,
        le=1024,
        description="Threads each ONNX call may use while serving (encoding a question, the cross-encoder rereading): 1 "
        "(one question is too small to share out across cores, and the bot's other threads need them) or more; "
        "0 = every core. Builds use every core either way.",
    )
    shard_count: int | Literal["auto"] | None = Field(
        default=None,
        description="Gateway shards for bots in many servers (required past 2,500): empty = one connection, auto = as "
        "many as Discord recommends, or a number.",
    )
    shard_ids: ShardList = Field(
        default_factory=list,
        description="The shards this process runs (comma-separated, each below SHARD_COUNT) when one bot runs as "
        "several processes, e.g. SHARD_COUNT=4 with SHARD_IDS=0,1 in one process and SHARD_IDS=2,3 in another; empty "
        "= all shards here.",
    )
    top_k: int = Field(default=3, ge=1, le=3, description="Most quotes in one answer.")
    cooldown_questions: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Per-user cooldown: a user may ask this many questions per COOLDOWN_SECONDS.",
    )
    cooldown_seconds: float = Field(
        default=60.0,
        gt=0,
        le=DAY,
        allow_inf_nan=False,
        description="Length of the per-user cooldown window, in seconds.",
    )
    reply_style: Literal["embed", "plain"] = Field(
        default="embed", description="Answers as embeds or as plain messages."
    )
    allow_dms: bool = Field(
        default=True,
        description="Answer questions sent to the bot by direct message (true), or reply that questions go in the "
        "server (false).",
    )
    index_watch_seconds: float = Field(
        default=10.0,
        ge=0,
        le=DAY,
        allow_inf_nan=False,
        description="How often (seconds) the running bot checks for a new index build (`newsroom-bot build` while it "
        "serves); 0 = never.",
    )
    thread_switch_ms: float = Field(
        default=0.5,
        ge=0,
        le=100,
        allow_inf_nan=False,
        description="Python's thread switch interval (ms) while the bot runs: the event loop gets the GIL back sooner "
        "from engine threads (replies under load); 0 = Python's default (5 ms). Set for the bot's run only, "
        "restored after.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="How much the bot logs: DEBUG, INFO, WARNING or ERROR (any case)."
    )
    question_log_enabled: bool = Field(
        default=True,
        description="Log questions, answers, quoted paragraphs and 👍/👎 votes (user ids are stored only as salted "
        "hashes). false: nothing is logged and no buttons are shown; /story set bindings are still kept in the file.",
        json_schema_extra={"section": "For editors: the question log behind /report and `newsroom-bot report`"},
    )
    question_log_path: Path | None = Field(
        default=None,
        description="SQLite file (question log, votes, channel bindings); empty = questions.sqlite3 beside INDEX_DIR "
        "(data/).",
    )
    question_log_retention_days: int = Field(
        default=90,
        ge=0,
        le=MAX_RETENTION_DAYS,
        description="Questions older than this many days are deleted (with their votes); 0 keeps everything.",
    )
    question_log_salt: SecretStr | None = Field(
        default=None,
        description="Key for hashing user ids. Empty = a random key kept inside the log file; set one to keep it out "
        "of the file.",
    )

    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL with pgvector for the index and the question log, shared by bot processes on "
        "several machines: postgresql://USER:PASSWORD@HOST:5432/DBNAME. Empty = files on this machine (INDEX_DIR "
        "and QUESTION_LOG_PATH), as for one machine. The database needs the vector extension (pgvector).",
        json_schema_extra={"section": "Past one machine: the index and the question log in PostgreSQL"},
    )

    @field_validator("answer_channel_ids", "admin_role_ids", "shard_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Accept '123,456' (or spaces) as well as a list."""
        if isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("shard_count", mode="before")
    @classmethod
    def _shards(cls, value: object) -> object:
        """'' means unset; 'auto' in any case; a number must be at least 1."""
        if isinstance(value, str):
            value = value.strip().lower()
            if not value:
                return None
            if value != "auto":
                try:
                    value = int(value)
                except ValueError:
                    raise ValueError("SHARD_COUNT must be auto or a whole number of shards") from None
        if isinstance(value, int) and not 1 <= value <= MAX_SHARDS:
            raise ValueError(f"SHARD_COUNT must be between 1 and {MAX_SHARDS:,}")
        return value

    @field_validator("shard_ids")
    @classmethod
    def _shard_ids(cls, value: list[int], info: ValidationInfo) -> list[int]:
        """Each process of a bot split across processes names its shards; together they must cover 0..count-1."""
        if not value or "shard_count" not in info.data:  # unset, or SHARD_COUNT is itself invalid (reported there)
            return value
        count = info.data["shard_count"]
        if not isinstance(count, int):
            raise ValueError(
                "SHARD_IDS needs SHARD_COUNT set to a number (the same in every process), not unset or auto"
            )
        if bad := [i for i in value if not 0 <= i < count]:
            raise ValueError(f"SHARD_IDS must be between 0 and SHARD_COUNT - 1 = {count - 1}; {bad} is not")
        if len(set(value)) != len(value):
            raise ValueError("SHARD_IDS names a shard twice")
        return sorted(value)

    @field_validator("reply_style", "quantization", "index_type", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        """Choices in any case: REPLY_STYLE=EMBED is embed."""
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        """A PostgreSQL URL, checked for its scheme only: the server says the rest when the bot connects."""
        if value is not None and not value.get_secret_value().strip().startswith(POSTGRES_SCHEMES):
            raise ValueError("DATABASE_URL must start with postgresql:// (postgresql://USER:PASSWORD@HOST:5432/DBNAME)")
        return value

    @field_validator(
        "discord_token",
        "discord_guild_id",
        "question_log_salt",
        "question_log_path",
        "database_url",
        "model_cache",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("discord_token", mode="before")
    @classmethod
    def _token_is_one_word(cls, value: object) -> object:
        """A NUL or line break in the token (a stray byte in .env) would only show as Discord refusing the login."""
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and any(ch < " " or ch == "\x7f" for ch in text.strip()):
            raise ValueError("holds a control character (a stray byte after it?); copy the token again")
        return value

    @property
    def has_token(self) -> bool:
        return self.discord_token is not None

    @property
    def question_log_file(self) -> Path:
        """QUESTION_LOG_PATH, or `questions.sqlite3` in the folder that holds the index (data/ by default)."""
        return self.question_log_path or self.index_dir.parent / "questions.sqlite3"

    @property
    def database(self) -> str | None:
        """DATABASE_URL as a plain string, for the code that connects (never for a message: see index.postgres)."""
        return self.database_url.get_secret_value().strip() if self.database_url else None

    def engine_options(self) -> EngineOptions:
        """The settings the engine reads, as the one object every face hands it (`build_index`, `Library.load`,
        `LiveLibrary`): adding an engine setting is a field above and a line here."""
        from index import EngineOptions

        return EngineOptions(
            model=self.model,
            adapter=self.model_adapter,
            cross_encoder=self.cross_encoder_model,
            quantization=self.quantization,
            index_type=self.index_type,
            model_cache=self.model_cache,
            database=self.database,
            encoder_threads=self.encoder_threads,
        )

    @property
    def question_log_target(self) -> str | Path:
        """Where the question log lives: DATABASE_URL when set, else the SQLite file."""
        return self.database or self.question_log_file


class SettingsError(RuntimeError):
    """Start-up stops here: the message names each bad variable."""


def load_settings(**overrides: Any) -> Settings:
    env_file = overrides.get("_env_file", Settings.model_config.get("env_file"))
    files = [env_file] if isinstance(env_file, str | Path) else list(env_file or ())
    if problems := [p for f in files for p in env_file_problems(Path(f), set(Settings.model_fields))]:
        raise SettingsError("the settings file can't be used as it is:\n  " + "\n  ".join(problems))
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            value = error.get("input")
            # Only a plain value of a non-secret variable is echoed: a secret, or a whole input dict, never is.
            shown = (
                name not in SECRET_VARIABLES and isinstance(value, (str, int, float, bool)) and len(str(value)) < 200
            )
            lines.append(f"{name}: {error['msg']} (got {value!r})" if shown else f"{name}: {error['msg']}")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None
