"""Admin commands: `/reindex` rebuilds from the content folder and swaps the new index in without a restart.

Only ADMIN_ROLE_IDS or Manage Server may run it; everyone else gets a refusal only they can see. The command is
visible to all on purpose: Discord's `default_permissions` would hide it from admin roles lacking Manage Server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from index import BuildReport, EngineError

from ..messages import REFUSE_ADMIN
from ..render import escape, trim

if TYPE_CHECKING:
    from ..client import NewsroomBot


def report_text(report: BuildReport) -> str:
    """What the admin sees after a rebuild: counts, and every story file that could not be used."""
    if report.changed:
        lines = [
            f"Rebuilt the index: {len(report.stories)} stories ({report.paragraphs} paragraphs), "
            f"{len(report.embedded)} embedded, {len(report.reused)} reused. Questions now use it."
        ]
    elif report.stories:
        lines = [f"The index was already up to date ({len(report.stories)} stories); nothing to rebuild."]
    elif report.errors:
        lines = ["None of the story files could be used; the previous index stays in use."]
    else:
        lines = [
            "There are no stories in the content folder: add story files there (.md, .markdown or .txt) "
            "and run `/reindex` again. The previous index stays in use."
        ]
    lines += [f"• {escape(error)}" for error in report.errors]
    return trim("\n".join(lines), 2000)


class Admin(commands.Cog):
    def __init__(self, bot: NewsroomBot) -> None:
        self.bot = bot

    @app_commands.command(name="reindex", description="Admins: rebuild the index from the story files")
    @app_commands.describe(force="Embed every story again, even unchanged ones")
    async def reindex(self, interaction: discord.Interaction, force: bool = False) -> None:
        if not self.bot.is_admin(interaction.user):
            await interaction.response.send_message(REFUSE_ADMIN, ephemeral=True)
            return
        if self.bot.reindex_lock.locked():
            await interaction.response.send_message("A rebuild is already running; try again shortly.", ephemeral=True)
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        try:
            report = await self.bot.rebuild(force=force)
        except (EngineError, OSError) as exc:
            await interaction.followup.send(
                trim(f"The rebuild failed; the current index stays in use. {escape(str(exc))}", 2000), ephemeral=True
            )
            return
        await interaction.followup.send(report_text(report), ephemeral=True)


async def setup(bot: NewsroomBot) -> None:
    await bot.add_cog(Admin(bot))
