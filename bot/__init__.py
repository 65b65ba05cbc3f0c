"""newsroom-bot's Discord face. `create_bot` is imported lazily so the terminal commands never load discord.py."""

from __future__ import annotations

from typing import Any

__all__ = ["create_bot"]


def __getattr__(name: str) -> Any:
    if name == "create_bot":
        from .client import create_bot

        return create_bot
    raise AttributeError(name)
