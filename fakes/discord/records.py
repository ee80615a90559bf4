"""What the fake saw the bot do: REST calls, messages, and interaction responses.

Tests assert on these, so they keep exactly what py-cord sent (including
``allowed_mentions``) next to the message Discord would show.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .payloads import EPHEMERAL


@dataclass
class RequestRecord:
    """One REST call: the request as sent and the answer the fake gave."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 0
    response: Any = None


def walk_components(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every component, depth first, out of action rows, labels, sections and containers."""
    for component in components:
        yield component
        yield from walk_components(component.get("components") or [])
        if isinstance(component.get("component"), dict):
            yield from walk_components([component["component"]])
        if isinstance(component.get("accessory"), dict):
            yield from walk_components([component["accessory"]])


@dataclass
class FakeMessage:
    """A message as Discord would show it, plus every body the bot sent to create/edit it."""

    payload: dict[str, Any]
    bodies: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    loading: bool = False  # a deferred "thinking..." placeholder not yet filled in
    # emoji (as in a REST path: "📌", or "name:id") -> ids of the users who reacted, in order
    reactors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def channel_id(self) -> int:
        return int(self.payload["channel_id"])

    @property
    def content(self) -> str:
        return self.payload["content"]

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.payload["embeds"]

    @property
    def components(self) -> list[dict[str, Any]]:
        return self.payload["components"]

    @property
    def flags(self) -> int:
        return self.payload["flags"]

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def allowed_mentions(self) -> dict[str, Any] | None:
        """``allowed_mentions`` of the latest request that set them (None if never sent).

        A deferred reply is created empty and filled in by a later edit, which carries them.
        """
        sent = [b["allowed_mentions"] for b in self.bodies if "allowed_mentions" in b]
        return sent[-1] if sent else None

    def all_components(self) -> list[dict[str, Any]]:
        """Every component, flattened out of action rows, labels, sections and containers."""
        return list(walk_components(self.components))

    @property
    def buttons(self) -> dict[str, str | None]:
        """custom_id -> label of every button with a custom_id."""
        return {
            c["custom_id"]: c.get("label")
            for c in self.all_components()
            if c.get("type") == 2 and "custom_id" in c
        }

    def button(self, label: str) -> str:
        """The custom_id of the button labelled ``label`` (fails, listing the labels, if none)."""
        found = [custom_id for custom_id, text in self.buttons.items() if text == label]
        if len(found) != 1:
            raise AssertionError(
                f"message {self.id}: {len(found)} buttons {label!r}: {self.buttons}"
            )
        return found[0]

    def component(self, custom_id: str) -> dict[str, Any]:
        for component in self.all_components():
            if component.get("custom_id") == custom_id:
                return component
        raise AssertionError(f"message {self.id} has no component {custom_id!r}: {self.components}")


@dataclass
class InteractionRecord:
    """One interaction pushed to the bot and everything the bot answered to it.

    ``callbacks`` are the raw callback bodies (``{"type", "data"}``); ``original`` is the
    message the interaction response shows (for components, the clicked message);
    ``followups`` are messages posted through the interaction webhook.
    """

    id: str
    token: str
    payload: dict[str, Any]
    wait: Callable[[Callable[[], bool], str, float | None], Awaitable[None]]
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    original: FakeMessage | None = None
    followups: list[FakeMessage] = field(default_factory=list)

    async def response(self, within: float | None = None) -> dict[str, Any]:
        """Wait for the initial callback and return it (``{"type": 4, "data": {...}}``)."""
        await self.wait(lambda: bool(self.callbacks), f"a response to {self.describe()}", within)
        return self.callbacks[0]

    async def followup(self, index: int = 0, within: float | None = None) -> FakeMessage:
        """Wait for follow-up number ``index`` (0-based) and return it."""
        await self.wait(
            lambda: len(self.followups) > index,
            f"follow-up #{index} to {self.describe()}",
            within,
        )
        return self.followups[index]

    async def message(self, within: float | None = None) -> FakeMessage:
        """Wait until the user can see a finished answer and return it.

        That is the latest follow-up, else the original response once it is no longer a
        "thinking..." placeholder.
        """

        def visible() -> bool:
            return bool(self.followups) or (self.original is not None and not self.original.loading)

        await self.wait(visible, f"a visible message answering {self.describe()}", within)
        return self.followups[-1] if self.followups else self.original  # type: ignore[return-value]

    @property
    def response_type(self) -> int | None:
        return self.callbacks[0]["type"] if self.callbacks else None

    @property
    def modal(self) -> dict[str, Any] | None:
        """The modal the bot opened (callback type 9): custom_id, title, components."""
        for callback in self.callbacks:
            if callback["type"] == 9:
                return callback["data"]
        return None

    async def choices(self, within: float | None = None) -> list[dict[str, Any]]:
        """Autocomplete choices the bot returned (callback type 8)."""
        response = await self.response(within)
        assert response["type"] == 8, f"expected autocomplete result, got {response}"
        return response["data"]["choices"]

    def describe(self) -> str:
        data = self.payload.get("data", {})
        return (
            f"interaction type {self.payload['type']} {data.get('name') or data.get('custom_id')!r}"
        )
