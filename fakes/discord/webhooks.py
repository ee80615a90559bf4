"""Channel webhooks: create, list, execute (into threads, with files), edit and delete.

The threader posts each Redmine note through a channel webhook under the note author's
name. Real Discord's rules, kept here so a client that breaks them fails in tests:

- creating or listing webhooks needs Manage Webhooks; at most 15 per channel (400, 30007);
  none on a thread (400, 50024); a name or ``username`` containing "discord" or "clyde" is
  refused (400, 50035);
- execute: ``?wait=true`` answers the message (else 204), ``?thread_id=`` posts in a thread
  of the webhook's channel (any other channel: 404 Unknown Channel); a wrong token is 401
  (50027); an empty message 400 (50006); an archived thread is unarchived, a locked archived
  one refuses (400, 50083); ``allowed_mentions`` is honoured like a channel post;
- a webhook message in a thread is reached only with its ``thread_id`` (else 404 10008, as
  Discord); editing or deleting one in an archived thread is refused (400, 50083).

The interaction follow-up routes share the path shape ``/webhooks/{id}/{token}``: a request
goes to a channel webhook only when the id is one (:meth:`WebhooksMixin._match`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from . import events, payloads
from .cdn import CdnMixin
from .payloads import snowflake
from .records import FakeMessage
from .server import (
    THREAD_TYPES,
    Call,
    Ref,
    Rejected,
    Result,
    Unknown,
    archived_thread,
    lookup,
    ref_id,
    route_pattern,
)

MAX_WEBHOOKS_PER_CHANNEL = 15
WEBHOOK_TYPES = (0, 5, 15)  # text, announcement, forum
_EXECUTE = "/webhooks/{webhook_id}/{webhook_token}"
_MESSAGE = _EXECUTE + "/messages/{message_id}"
_ROUTES = (
    ("POST", "/channels/{channel_id}/webhooks", "_create_webhook"),
    ("GET", "/channels/{channel_id}/webhooks", "_list_webhooks"),
    ("GET", "/webhooks/{webhook_id}", "_get_webhook"),
    ("POST", _EXECUTE, "_execute_webhook"),
    ("GET", _MESSAGE, "_get_webhook_message"),
    ("PATCH", _MESSAGE, "_edit_webhook_message"),
    ("DELETE", _MESSAGE, "_delete_webhook_message"),
)


@functools.cache
def _compiled() -> tuple[tuple[str, re.Pattern[str], str, str], ...]:
    return tuple((method, route_pattern(t), t, name) for method, t, name in _ROUTES)


def invalid_form(field: str, code: str, message: str) -> Rejected:
    """Discord's 400 Invalid Form Body with the error under ``field``."""
    return Rejected(
        400, 50035, "Invalid Form Body", {field: {"_errors": [{"code": code, "message": message}]}}
    )


def _check_name(field: str, name: str | None) -> None:
    if name is None:
        return
    for word in ("discord", "clyde"):
        if word in name.lower():
            raise invalid_form(
                field, "USERNAME_INVALID_CONTAINS", f'Username cannot contain "{word}"'
            )


class WebhooksMixin(CdnMixin):
    """Channel webhook state (``webhooks``: id -> webhook with its token) and routes."""

    _webhooks: dict[str, dict[str, Any]]

    @property
    def webhooks(self) -> dict[str, dict[str, Any]]:
        if not hasattr(self, "_webhooks"):
            self._webhooks = {}
        return self._webhooks

    def add_webhook(self, channel: Ref, name: str = "netbot") -> dict[str, Any]:
        """A webhook someone already made in ``channel`` (owned by the application)."""
        channel_data = self.channels[ref_id(channel)]
        webhook_id = snowflake()
        webhook = {
            "id": webhook_id,
            "type": 1,
            "name": name,
            "avatar": None,
            "channel_id": channel_data["id"],
            "guild_id": channel_data.get("guild_id"),
            "application_id": self.application_id,
            "user": self.bot_user,
            "token": f"wh-{snowflake()}",
        }
        webhook["url"] = (
            f"http://127.0.0.1:{self.port}/api/v10/webhooks/{webhook_id}/{webhook['token']}"
        )
        self.webhooks[webhook_id] = webhook
        return webhook

    def webhook_messages(self, where: Ref | None = None) -> list[FakeMessage]:
        """Live messages posted through channel webhooks (in ``where`` if given)."""
        return [
            m
            for m in self.messages.values()
            if not m.deleted
            and m.payload.get("webhook_id") in self.webhooks
            and (where is None or m.payload["channel_id"] == ref_id(where))
        ]

    # -- routing ----------------------------------------------------------------------------

    def _match(
        self, method: str, path: str
    ) -> tuple[str, Callable[[Call], Result], dict[str, str]] | None:
        for route_method, pattern, template, name in _compiled():
            if route_method != method or not (found := pattern.match(path)):
                continue
            params = found.groupdict()
            if "webhook_token" in params and params["webhook_id"] not in self.webhooks:
                continue  # an interaction follow-up (application id + interaction token)
            return template, getattr(self, name), params
        return super()._match(method, path)

    def _webhook_of(self, call: Call) -> dict[str, Any]:
        webhook: dict[str, Any] = lookup(self.webhooks, call.params["webhook_id"], "Webhook", 10015)
        token = call.params.get("webhook_token")
        if token is not None and token != webhook["token"]:
            raise Rejected(401, 50027, "Invalid Webhook Token")
        return webhook

    # -- managing webhooks (bot token) ------------------------------------------------------

    def _create_webhook(self, call: Call) -> Result:
        channel = self._channel_of(call)
        self._require(channel, "manage_webhooks")
        if channel["type"] not in WEBHOOK_TYPES:
            raise Rejected(400, 50024, "Cannot execute action on this channel type")
        _check_name("name", call.body.get("name"))
        if len(self._webhooks_in(channel["id"])) >= MAX_WEBHOOKS_PER_CHANNEL:
            raise Rejected(400, 30007, "Maximum number of webhooks reached (15)")
        return 200, self.add_webhook(channel, call.body["name"])

    def _webhooks_in(self, channel_id: str) -> list[dict[str, Any]]:
        return [w for w in self.webhooks.values() if w["channel_id"] == channel_id]

    def _list_webhooks(self, call: Call) -> Result:
        channel = self._channel_of(call)
        self._require(channel, "manage_webhooks")
        return 200, self._webhooks_in(channel["id"])

    def _get_webhook(self, call: Call) -> Result:
        webhook = self._webhook_of(call)
        self._require(self.channels[webhook["channel_id"]], "manage_webhooks")
        return 200, webhook

    # -- executing (webhook token) ----------------------------------------------------------

    def _target(self, webhook: dict[str, Any], thread_id: str | None) -> dict[str, Any]:
        """The webhook's channel, or its thread ``thread_id`` (unarchived as Discord does)."""
        channel: dict[str, Any] = self.channels[webhook["channel_id"]]
        if thread_id is None:
            return channel
        thread: dict[str, Any] = lookup(self.channels, thread_id, "Channel", 10003)
        if thread["type"] not in THREAD_TYPES or thread.get("parent_id") != channel["id"]:
            raise Unknown("Channel", 10003)
        return thread

    def _execute_webhook(self, call: Call) -> Result:
        webhook, body, uploads = self._webhook_of(call), call.body or {}, self.uploads()
        if not (body.get("content") or body.get("embeds") or body.get("components") or uploads):
            raise Rejected(400, 50006, "Cannot send an empty message")
        if len(body.get("content") or "") > 2000:
            raise invalid_form(
                "content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length."
            )
        _check_name("username", body.get("username"))
        target = self._target(webhook, call.query.get("thread_id"))
        metadata = target.get("thread_metadata")
        if metadata is not None and metadata["archived"]:
            if metadata["locked"]:
                raise archived_thread()
            self.set_archived(target, False)
        author = payloads.user(webhook["id"], body.get("username") or webhook["name"], bot=True)
        author["discriminator"] = "0000"
        payload = payloads.message(snowflake(), target["id"], author, body)
        payload["webhook_id"] = webhook["id"]
        payload["attachments"] = self.attachments_from(target["id"], body, uploads)
        payload.update(self._mentions(target["id"], body))
        message = FakeMessage(payload, [body])
        self.record_message(message)
        self.dispatch("MESSAGE_CREATE", self._gateway_message(payload))
        if call.query.get("wait", "").lower() in ("true", "1"):
            return 200, payload
        return 204, None

    def _webhook_message(self, call: Call) -> FakeMessage:
        """A message of this webhook, reachable only with the thread_id of its thread."""
        webhook = self._webhook_of(call)
        message: FakeMessage = lookup(self.messages, call.params["message_id"], "Message", 10008)
        if message.payload.get("webhook_id") != webhook["id"]:
            raise Unknown("Message", 10008)
        channel_id = message.payload["channel_id"]
        in_thread = channel_id if channel_id != webhook["channel_id"] else None
        if call.query.get("thread_id") != in_thread:
            raise Unknown("Message", 10008)
        return message

    def _writable(self, message: FakeMessage) -> None:
        metadata = self.channels[message.payload["channel_id"]].get("thread_metadata")
        if metadata is not None and metadata["archived"]:
            raise archived_thread()

    def _get_webhook_message(self, call: Call) -> Result:
        return 200, self._webhook_message(call).payload

    def _edit_webhook_message(self, call: Call) -> Result:
        """Edit content, embeds, mentions; ``attachments`` keeps the listed existing files
        (by id) and adds uploaded ones."""
        message, body = self._webhook_message(call), call.body or {}
        self._writable(message)
        if len(body.get("content") or "") > 2000:
            raise invalid_form(
                "content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length."
            )
        channel_id = message.payload["channel_id"]
        self._apply_edit(message, body)
        if "attachments" in body or self.uploads():
            message.payload["attachments"] = self.edited_attachments(
                message.payload, body, self.uploads()
            )
        if "content" in body or "allowed_mentions" in body:
            message.payload.update(self._mentions(channel_id, body))
        self.dispatch("MESSAGE_UPDATE", self._gateway_message(message.payload))
        return 200, message.payload

    def _delete_webhook_message(self, call: Call) -> Result:
        message = self._webhook_message(call)
        self._writable(message)
        events.delete_message(self, message)
        return 204, None
