"""The `slack:` section of the configuration: where each kind of post is mirrored, and how
fast and how patiently the bridge delivers.

Routes name Slack channel ids (not names: a renamed channel keeps its id, and the bot must
be invited to each, see README "Slack bridge"). A source with no channel is not mirrored.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from netbot.core.config import Section

SlackChannelId = Annotated[
    str, Field(pattern=r"^[A-Z][A-Z0-9]{2,30}$", description="a Slack channel id (C0123ABCD)")
]
Channels = list[SlackChannelId]


class SlackRoutes(Section):
    """Each source of posts -> the Slack channels it is mirrored to (one message each)."""

    alerts: Channels = Field(default_factory=list)  # disaster alerts
    digests: Channels = Field(default_factory=list)  # the daily digest
    good_news: Channels = Field(default_factory=list)  # "no disaster today" posts
    # incident headlines (posted once, then updated in place)
    incidents: Channels = Field(default_factory=list)


class IncidentChannelsConfig(Section):
    """Optional: one Slack channel per incident, created on declare, archived on close."""

    enabled: bool = False
    # Slack names: lowercase letters, digits, - and _, at most 80 characters in all.
    prefix: str = Field(default="inc-", pattern=r"^[a-z0-9_-]{0,20}$")


class RetryConfig(Section):
    """Backoff after a failed delivery (429 without Retry-After, 5xx, timeouts, network)."""

    first_seconds: float = Field(default=1.0, gt=0)
    max_seconds: float = Field(default=300.0, gt=0)
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    # Retries inside slack_sdk (Retry-After honoured) before the drainer's own backoff.
    client_retries: int = Field(default=1, ge=0, le=5)


class SlackConfig(Section):
    """The Slack bridge: incident and alert posts mirrored to Slack channels."""

    base_url: str = "https://slack.com/api/"  # tests point it at the fake Slack
    routes: SlackRoutes = Field(default_factory=SlackRoutes)
    # Incident status changes and timeline entries as thread replies under the headline.
    incident_replies: bool = True
    # Status changes also shown in the channel (reply_broadcast), not only in the thread.
    broadcast_status: bool = False
    incident_channels: IncidentChannelsConfig = Field(default_factory=IncidentChannelsConfig)
    # Slack allows about one message per second per channel.
    pace_seconds: float = Field(default=1.0, ge=0)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    # How many channels are delivered to at once (each at its own pace).
    concurrent_channels: int = Field(default=20, ge=1, le=200)
    # How often the outbox is looked at when nothing woke the drainer (another process wrote).
    poll_seconds: float = Field(default=1.0, gt=0)
    # Shown as the poster's name (needs the chat:write.customize scope); None: the app's name.
    username: str | None = Field(default=None, min_length=1, max_length=80)

    def channels_for(self, source: str) -> list[str]:
        """The channels `source` ("alerts", "digests", "good_news", "incidents") goes to."""
        return list(getattr(self.routes, source))
