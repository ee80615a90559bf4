"""The outbox: mirrors written INSIDE the transaction of the change that causes them.

Alerts and incidents call `Outbox`'s methods with their own SQLAlchemy session, while they
record the change (an alert notification, an incident update). The row commits with that
change or not at all: a crash cannot lose a mirror of something recorded, nor mirror
something rolled back. The drainer (netbot.slack.drainer) delivers the rows later, in order
per lane; nothing here talks to Slack.

Lanes: a configured Slack channel is a lane of its own ("C0123ABCD"); a channel the bridge
creates for an incident is the lane "@incident:<id>" until Slack names its id (the map).
Keys: each mirrored message has a source key ("alert:<event>", "incident:<id>:headline",
"incident:<id>:<entry>"): the map ties it, per lane, to the Slack channel and ts, so a later
edit, thread reply or delete finds it, after a restart too.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from netbot.chat import Post
from netbot.core.tasks import Clock
from netbot.core.text import clip
from netbot.slack.config import SlackConfig
from netbot.slack.models import Kind, MirroredMessage, OutboxRow
from netbot.slack.payload import post_to_json
from netbot.slack.text import escape

# Set on the session that wrote a row: the drainer's commit listener wakes it at once.
WAKE_FLAG = "netbot_slack_outbox"
CHANNEL_NAME_LIMIT = 80  # Slack's limit for a channel name
TOPIC_LIMIT = 250  # and for its topic


def enqueue(
    session: Session,
    *,
    now: dt.datetime,
    lane: str,
    kind: Kind,
    payload: dict[str, Any],
    source_key: str | None = None,
    parent_key: str | None = None,
) -> int:
    """Add one row to the outbox in `session`'s transaction, due `now` (the runtime's
    clock); its id (the delivery order)."""
    row = OutboxRow(
        lane=lane, kind=kind, payload=payload, source_key=source_key, parent_key=parent_key,
        state="pending", attempts=0, in_doubt=False, next_attempt=now, created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    session.info[WAKE_FLAG] = True
    return row.id


def incident_lane(incident_id: int) -> str:
    """The lane of an incident's own Slack channel (its id is known once created)."""
    return f"@incident:{incident_id}"


def channel_name(prefix: str, name: str) -> str:
    """A Slack channel name: lowercase, only a-z 0-9 - _, at most 80 characters, never empty;
    `prefix` once (a Discord space name `inc-...` keeps its own `inc-`, not `inc-inc-`)."""
    whole = name if name.lower().startswith(prefix.lower()) else prefix + name
    cleaned = re.sub(r"[^a-z0-9_-]+", "-", whole.lower())
    cleaned = re.sub(r"-{2,}", "-", cleaned).strip("-_")[:CHANNEL_NAME_LIMIT].rstrip("-_")
    return cleaned or "incident"


class Outbox:
    """The mirror hooks alerts and incidents receive (through `netbot.slack.mirror`)."""

    def __init__(self, config: SlackConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock

    def _add(self, session: Session, lane: str, kind: Kind, payload: dict[str, Any],
             key: str | None, parent_key: str | None = None) -> None:  # fmt: skip
        enqueue(session, now=self.clock.now(), lane=lane, kind=kind, payload=payload,
                source_key=key, parent_key=parent_key)  # fmt: skip

    # ---------------------------------------------------------------- alerts
    def post(self, session: Session, source: str, key: str, post: Post) -> None:
        """One message per channel routed for `source` ("alerts", "digests", "good_news")."""
        for lane in self.config.channels_for(source):
            self._add(session, lane, "post", {"post": post_to_json(post)}, key)

    # ---------------------------------------------------------------- incidents
    def headline(self, session: Session, incident_id: int, post: Post) -> None:
        """The incident's headline: posted once per channel, then updated in place."""
        key = _headline_key(incident_id)
        for lane in self.config.channels_for("incidents"):
            self._post_or_edit(session, lane, key, post)

    def timeline(
        self,
        session: Session,
        incident_id: int,
        key: str,
        post: Post,
        *,
        status_change: bool = False,
    ) -> None:
        """A status change or timeline entry (`key` stable per entry; again to edit it): a
        thread reply under the headline, and a message in the incident's own channel."""
        entry = f"incident:{incident_id}:{key}"
        if self.config.incident_replies:
            broadcast = status_change and self.config.broadcast_status
            for lane in self.config.channels_for("incidents"):
                self._post_or_edit(
                    session, lane, entry, post,
                    parent_key=_headline_key(incident_id), broadcast=broadcast,
                )  # fmt: skip
        lane = incident_lane(incident_id)
        # Its own channel shows the entries from its creation on (declared before `opened`,
        # an entry is in the headline's thread only) until it is archived: Slack does not let
        # a bot unarchive a channel, so after a reopen the headline's thread carries on alone.
        if self._own_channel_open(session, lane):
            self._post_or_edit(session, lane, entry, post)

    def timeline_removed(self, session: Session, incident_id: int, key: str) -> None:
        """A timeline entry removed: its mirrors are deleted."""
        entry = f"incident:{incident_id}:{key}"
        for lane in self._incident_lanes(incident_id):
            if _known(session, lane, entry) and not _archived(session, lane):
                self._add(session, lane, "delete", {}, entry)

    def opened(self, session: Session, incident_id: int, name: str, topic: str) -> None:
        """Create the incident's own channel (when configured), with `topic`."""
        if not self.config.incident_channels.enabled:
            return
        lane = incident_lane(incident_id)
        # Slack reads a topic as it reads a message: outside text is escaped alike.
        payload = {"name": channel_name(self.config.incident_channels.prefix, name),
                   "topic": clip(escape(topic), TOPIC_LIMIT)}  # fmt: skip
        self._add(session, lane, "create_channel", payload, lane)

    def closed(self, session: Session, incident_id: int) -> None:
        """Archive the incident's own channel (when one was asked for)."""
        lane = incident_lane(incident_id)
        if self._own_channel_open(session, lane):  # closed again after a reopen: it stays so
            self._add(session, lane, "archive_channel", {}, lane)

    # ---------------------------------------------------------------- helpers
    def _own_channel_open(self, session: Session, lane: str) -> bool:
        """Whether the incident's own channel was asked for and is not archived (or about to
        be)."""
        return (
            self.config.incident_channels.enabled
            and _known(session, lane, lane)
            and not _archived(session, lane)
        )

    def _incident_lanes(self, incident_id: int) -> list[str]:
        lanes = list(self.config.channels_for("incidents")) if self.config.incident_replies else []
        if self.config.incident_channels.enabled:
            lanes.append(incident_lane(incident_id))
        return lanes

    def _post_or_edit(
        self,
        session: Session,
        lane: str,
        key: str,
        post: Post,
        *,
        parent_key: str | None = None,
        broadcast: bool = False,
    ) -> None:
        """The first mirror of `key` in `lane` is a post (or a thread reply under
        `parent_key`); every later one an edit of it."""
        payload: dict[str, Any] = {"post": post_to_json(post)}
        if _known(session, lane, key):
            self._add(session, lane, "edit", payload, key)
        elif parent_key is not None:
            payload["broadcast"] = broadcast
            self._add(session, lane, "reply", payload, key, parent_key)
        else:
            self._add(session, lane, "post", payload, key)


def _headline_key(incident_id: int) -> str:
    return f"incident:{incident_id}:headline"


def _archived(session: Session, lane: str) -> bool:
    """Whether `lane` (a channel the bridge created) was archived or is queued to be."""
    archive = exists().where(OutboxRow.lane == lane, OutboxRow.kind == "archive_channel")
    return bool(session.scalar(select(archive)))


def _known(session: Session, lane: str, key: str) -> bool:
    """Whether `key` was mirrored to `lane` already (delivered, or waiting in the outbox)."""
    queued = exists().where(
        OutboxRow.lane == lane,
        OutboxRow.source_key == key,
        OutboxRow.kind.in_(("post", "reply", "create_channel")),
    )
    mapped = exists().where(MirroredMessage.lane == lane, MirroredMessage.source_key == key)
    return bool(session.scalar(select(queued | mapped)))
