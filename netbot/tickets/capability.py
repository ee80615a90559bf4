"""The tickets capability's declaration (see netbot/core/capability.py), apart from the package
so that `tickets.py` lists never load the configuration machinery (pydantic) it needs."""

from netbot.core.capability import Capability
from netbot.tickets.config import TicketsConfig
from netbot.tickets.wiring import REDMINE_ENV

CAPABILITY = Capability(
    name="tickets",
    cog="cogs.tickets",
    settings=TicketsConfig,
    env=REDMINE_ENV,
    models="netbot.tickets.models",
    # Replies, ticket embeds, `/ticket thread` (create, reopen, delete a thread it opened).
    discord_permissions=(
        "view_channel",
        "send_messages",
        "embed_links",
        "create_public_threads",
        "send_messages_in_threads",
        "manage_threads",
    ),
)
