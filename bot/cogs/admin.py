"""Admin commands: `/reindex` rebuilds from the content folder and swaps the new index in without a restart.

Only ADMIN_ROLE_IDS or Manage Server may run it (`admin_only`, bot/cogs/common.py); everyone else gets a refusal
only they can see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from index import BuildReport, EngineError

from ..messages import REBUILD_RUNNING, rebuild_failed, rebuilt
from ..render import CONTENT_LIMIT, trim
from .common import admin_only

if TYPE_CHECKING:
    from ..client import NewsroomBot


def report_text(report: BuildReport) -> str:
    """What the admin sees after a rebuild (bot/messages.py), within one message."""
    return trim(rebuilt(report), CONTENT_LIMIT)


class Admin(commands.Cog):
    def __init__(self, bot: NewsroomBot) -> None:
        self.bot = bot

    @app_commands.command(name="reindex")
    @app_commands.describe(force="Embed every story again, even unchanged ones")
    @admin_only()
    async def reindex(self, interaction: discord.Interaction, force: bool = False) -> None:
        """Admins: rebuild the index from the story files"""
        if self.bot.reindex_lock.locked():
            await interaction.response.send_message(REBUILD_RUNNING, ephemeral=True)
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        try:
            report = await self.bot.rebuild(force=force)
        except (EngineError, OSError) as exc:
            await interaction.followup.send(trim(rebuild_failed(str(exc)), CONTENT_LIMIT), ephemeral=True)
            return
        await interaction.followup.send(report_text(report), ephemeral=True)


async def setup(bot: NewsroomBot) -> None:
    await bot.add_cog(Admin(bot))
