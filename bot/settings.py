"""Settings from the environment and `.env`, checked at start-up.

Every variable is documented in `.env.example` and the README. The token is a `SecretStr`: its repr and
str are masked, so it cannot leak into logs or tracebacks by accident.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MAX_SHARDS = 10_000  # Discord's largest bots run a few thousand
# A Discord id (snowflake): a positive 64-bit number.
Snowflake = Annotated[int, Field(ge=1, lt=2**63)]
IdList = Annotated[list[Snowflake], NoDecode]
ShardList = Annotated[list[Annotated[int, Field(ge=0, lt=MAX_SHARDS)]], NoDecode]
DAY = 86_400.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False)

    discord_token: SecretStr | None = Field(default=None, description="the bot token from the Developer Portal")
    discord_guild_id: Snowflake | None = Field(
        default=None, description="sync slash commands to this guild only (instant)"
    )
    answer_channel_ids: IdList = Field(default_factory=list, description="channels where every message is a question")
    admin_role_ids: IdList = Field(default_factory=list, description="roles allowed to run admin commands")
    index_dir: Path = Field(default=Path("data/index"), description="where the built index lives")
    content_dir: Path = Field(default=Path("content"), description="the story files")
    model: str = Field(default="all-MiniLM-L6-v2", description="embedding model name or local path")
    model_adapter: str = Field(
        default="auto",
        description="LoRA adapter merged into the model at build time: auto (the shipped one, for the packaged "
        "model only), none, or a path to an adapter .npz",
    )
    reader_model: str = Field(
        default="auto",
        description="the reader (cross-encoder) exported beside the index at build time: auto (the shipped one, for "
        "the packaged model only), none, or a path to a reader .npz",
    )
    quantization: Literal["int8", "fp32"] = Field(
        default="int8", description="ONNX model that embeds stories and questions (int8: faster, fp32: exact)"
    )
    index_type: Literal["auto", "flat", "ivf", "hnsw"] = Field(
        default="auto", description="FAISS index kind; auto: exact flat up to 20,000 vectors, IVF above"
    )
    shard_count: int | Literal["auto"] | None = Field(
        default=None, description="gateway shards: unset = one connection, auto = Discord's advice, or a number"
    )
    shard_ids: ShardList = Field(
        default_factory=list,
        description="the shards this process runs (needs a numeric SHARD_COUNT); empty = all of them",
    )
    top_k: int = Field(default=3, ge=1, le=3, description="most quotes in one answer")
    cooldown_questions: int = Field(
        default=5, ge=1, le=1000, description="questions a user may ask per cooldown window"
    )
    cooldown_seconds: float = Field(
        default=60.0, gt=0, le=DAY, allow_inf_nan=False, description="length of the cooldown window"
    )
    reply_style: Literal["embed", "plain"] = Field(default="embed", description="answers as embeds or plain messages")
    allow_dms: bool = Field(default=True, description="answer questions sent by direct message (false: polite refusal)")
    index_watch_seconds: float = Field(
        default=10.0, ge=0, le=DAY, allow_inf_nan=False, description="check for a new index build this often; 0 = off"
    )
    thread_switch_ms: float = Field(
        default=0.5,
        ge=0,
        le=100,
        allow_inf_nan=False,
        description="Python's thread switch interval while the bot runs (ms); 0 = Python's 5 ms",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # For editors: the question log (see README, "For editors").
    question_log_enabled: bool = Field(default=True, description="keep a log of questions, answers and votes")
    question_log_path: Path | None = Field(default=None, description="SQLite file; default: beside the index")
    question_log_retention_days: int = Field(
        default=90, ge=0, le=36_500, description="delete older questions; 0 keeps all"
    )
    question_log_salt: SecretStr | None = Field(default=None, description="key for hashing user ids")

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

    @field_validator("discord_token", "question_log_salt", "question_log_path", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @property
    def has_token(self) -> bool:
        return self.discord_token is not None

    @property
    def question_log_file(self) -> Path:
        """QUESTION_LOG_PATH, or `questions.sqlite3` in the folder that holds the index (data/ by default)."""
        return self.question_log_path or self.index_dir.parent / "questions.sqlite3"


class SettingsError(RuntimeError):
    """Start-up stops here: the message names each bad variable."""


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            value = error.get("input")
            # Only a plain value of a non-secret variable is echoed: a secret, or a whole input dict, never is.
            shown = (
                name not in {"DISCORD_TOKEN", "QUESTION_LOG_SALT"}
                and isinstance(value, (str, int, float, bool))
                and len(str(value)) < 200
            )
            lines.append(f"{name}: {error['msg']} (got {value!r})" if shown else f"{name}: {error['msg']}")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None
