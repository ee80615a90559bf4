"""The `threader:` section of the configuration: which tickets sync where, and how often.

The threader shares the bot's configuration file (NETBOT_CONFIG) and database; its own keys
live here so that `python -m netbot check` and the bot validate them too.
"""

from __future__ import annotations

from pydantic import Field

from netbot.core.config import Section, Snowflake
from netbot.tickets import THREAD_FIELD


class ThreaderConfig(Section):
    """Ticket <-> Discord thread sync (threader.py)."""

    # The Redmine custom field naming a ticket's thread, for the threader and for every
    # writer of it (`/ticket thread`, the post-mortem): a thread id enrols the ticket; this
    # value asks the threader to create the ticket's thread (in the channel chosen below).
    thread_field: str = Field(default=THREAD_FIELD, min_length=1)
    create_value: str = Field(default="create", min_length=1)
    # Where a thread asked for with `create_value` is opened: the tracker's channel, else the
    # assignee team's first channel (core `teams`), else `default_channel`.
    tracker_channels: dict[str, Snowflake] = Field(default_factory=dict)
    default_channel: Snowflake | None = None
    # Threads under these parent channels are staff-only: private notes are posted there.
    staff_only_channels: list[Snowflake] = Field(default_factory=list)
    # Every N cycles (counted in the database: cron runs count too), re-read the recent
    # messages and notes of every enrolled open ticket to catch edits and deletes that move
    # no cursor (Redmine note edits do not bump the updated_on; Discord edits do not
    # move last_message_id). 0: never.
    recheck_every_cycles: int = Field(default=10, ge=0)
    # A claim (a remote write whose answer was lost) is resolved from the remote side only
    # once it is this old, so a write still in flight is never mistaken for a lost one.
    claim_settle_seconds: float = Field(default=15.0, ge=0)
    # Discord attachments larger than this are linked rather than copied to Redmine.
    max_upload_bytes: int = Field(default=5 * 1024 * 1024, ge=0)
    # Tickets synced per cycle at most (the rest wait for the next cycle: the backlog).
    max_tickets_per_cycle: int = Field(default=500, ge=1)
    request_timeout_seconds: float = Field(default=15.0, gt=0)
    # The threader's own side door (/healthz, /metrics) in `--every` mode; 0: off.
    http_port: int = Field(default=8081, ge=0, le=65535)
    http_host: str = "127.0.0.1"
