"""The extension API: commands, notifications, keyword, event and action handlers.

In the shape of Monzo response's building blocks, without its module-global registries: a
handler module makes its own `Extension` object and decorates functions on it; the service's
one `Registry` includes the built-in extension and every module named in
`incidents.extensions`. Loading a module twice (or into two bots in one test) registers
nothing twice, because nothing is registered by importing.

Handlers take an `IncidentContext` (the incident, who acted, and a few things they may do:
post into the space, add a timeline entry, close) and plain records, never Discord objects.
They may be plain or `async` functions. A handler that raises is logged with its name and an
error id, and the incident goes on as if it had not been there; a module that cannot be
imported is logged the same way and skipped.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import logging
import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from netbot.chat import Post
from netbot.core.errors import UserError, new_error_id
from netbot.incidents.records import ActionPrompt, Button, Incident

log = logging.getLogger(__name__)

Handler = Callable[..., Any]
ACTION_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
COMMAND_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
FAILURES_KEPT = 100
EVENT_KINDS = frozenset(
    ("message", "message_edit", "message_delete", "reaction_add", "reaction_remove", "member_join")
)


class IncidentContext(Protocol):
    """What a handler is given: the incident, who acted (None for notifications), the
    time, and the few things a handler may do to the incident."""

    incident: Incident
    user_id: int | None
    now: dt.datetime
    tz: ZoneInfo

    async def post(self, post: str | Post, buttons: Sequence[Button] = ()) -> None:
        """Post into the incident's space (a `str` is netbot's own text: escape anything
        from outside with `netbot.core.text.outside`). Nobody is pinged."""
        ...

    async def add_timeline_entry(self, text: str) -> None:
        """Add a note to the incident's timeline, at `now`, by `user_id`."""
        ...

    async def close(self, resolution: str) -> Incident:
        """Close the incident (archiving its space), as `user_id`."""
        ...


@dataclass(frozen=True)
class CommandHandler:
    """`/incident <name> [text]`: `func(ctx, text) -> str | None`, the reply to the caller."""

    names: tuple[str, ...]
    helptext: str
    func: Handler
    name: str


@dataclass(frozen=True)
class NotificationHandler:
    """`func(ctx)` at `initial_delay` after declaring, then every `interval` (None: once)
    up to `max_notifications` times, while the incident is active (not resolved)."""

    func: Handler
    name: str
    initial_delay: dt.timedelta
    interval: dt.timedelta | None
    max_notifications: int | None

    @property
    def key(self) -> str:
        """Its reminder state's key (stable across restarts: the handler's name)."""
        return f"x:{self.name}"[:100]


@dataclass(frozen=True)
class KeywordHandler:
    """`func(ctx, message)` when a message in an incident space contains a keyword (as a
    whole word, any case). Needs Discord's Message Content intent."""

    keywords: tuple[str, ...]
    pattern: re.Pattern[str]
    func: Handler
    name: str


@dataclass(frozen=True)
class EventHandler:
    """`func(ctx, event)` for these kinds of event in incident spaces (`EVENT_KINDS`)."""

    kinds: frozenset[str]
    func: Handler
    name: str


@dataclass(frozen=True)
class ActionHandler:
    """`func(ctx, text) -> str | None` when a button with `action_id` is clicked; with
    `asks`, the chat side first asks for a line of text (passed as `text`)."""

    action_id: str
    func: Handler
    name: str
    asks: ActionPrompt | None = None


@dataclass(frozen=True)
class Ran:
    """How running a handler went: its result, or the error id of its logged failure."""

    ok: bool
    value: Any = None
    error_id: str | None = None


def _name(func: Handler, extension: str) -> str:
    return f"{extension}.{getattr(func, '__name__', type(func).__name__)}"


def keyword_pattern(keywords: Iterable[str]) -> re.Pattern[str]:
    """Any of `keywords` as a whole word (spaces in a keyword match any run of spaces)."""
    words = [r"\s+".join(re.escape(part) for part in k.split()) for k in keywords if k.strip()]
    if not words:
        raise ValueError("a keyword handler needs at least one keyword")
    return re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)", re.IGNORECASE)


@dataclass
class Extension:
    """One module's handlers. Decorate functions on it; `Registry.load` finds it in the
    module (any module-level `Extension`)."""

    name: str
    # The built-in extension's: a configured extension's command, action or notification
    # of the same name replaces it (instead of being refused as a duplicate).
    replaceable: bool = False
    commands: list[CommandHandler] = field(default_factory=list)
    notifications: list[NotificationHandler] = field(default_factory=list)
    keywords: list[KeywordHandler] = field(default_factory=list)
    events: list[EventHandler] = field(default_factory=list)
    actions: list[ActionHandler] = field(default_factory=list)

    def incident_command(
        self, names: Sequence[str], helptext: str = ""
    ) -> Callable[[Handler], Handler]:
        """`/incident <name> [text]` for each of `names`."""
        bad = [n for n in names if not COMMAND_NAME.match(n)]
        if not names or bad:
            raise ValueError(f"command names must be lower-case words: {bad or names!r}")

        def register(func: Handler) -> Handler:
            handler = CommandHandler(tuple(names), helptext, func, _name(func, self.name))
            self.commands.append(handler)
            return func

        return register

    def recurring_notification(
        self, interval_mins: float, max_notifications: int | None = None,
        initial_delay_mins: float | None = None,
    ) -> Callable[[Handler], Handler]:  # fmt: skip
        """Every `interval_mins` (first after `initial_delay_mins`, default one interval),
        at most `max_notifications` times."""
        if interval_mins <= 0 or (max_notifications is not None and max_notifications < 1):
            raise ValueError("interval_mins must be > 0 and max_notifications >= 1")
        interval = dt.timedelta(minutes=interval_mins)
        delay = interval if initial_delay_mins is None else dt.timedelta(minutes=initial_delay_mins)
        return self._notification(delay, interval, max_notifications)

    def single_notification(self, initial_delay_mins: float) -> Callable[[Handler], Handler]:
        """Once, `initial_delay_mins` after the incident was declared."""
        if initial_delay_mins < 0:
            raise ValueError("initial_delay_mins must be >= 0")
        return self._notification(dt.timedelta(minutes=initial_delay_mins), None, 1)

    def _notification(
        self, delay: dt.timedelta, interval: dt.timedelta | None, most: int | None
    ) -> Callable[[Handler], Handler]:
        def register(func: Handler) -> Handler:
            name = _name(func, self.name)
            self.notifications.append(NotificationHandler(func, name, delay, interval, most))
            return func

        return register

    def keyword_handler(self, keywords: Sequence[str]) -> Callable[[Handler], Handler]:
        """When a message in an incident space contains one of `keywords`."""
        pattern = keyword_pattern(keywords)

        def register(func: Handler) -> Handler:
            name = _name(func, self.name)
            self.keywords.append(KeywordHandler(tuple(keywords), pattern, func, name))
            return func

        return register

    def event_handler(self, *kinds: str) -> Callable[[Handler], Handler]:
        """On these kinds of event in incident spaces (see `EVENT_KINDS`)."""
        unknown = set(kinds) - EVENT_KINDS
        if not kinds or unknown:
            raise ValueError(f"event kinds must be among {sorted(EVENT_KINDS)}: {kinds!r}")

        def register(func: Handler) -> Handler:
            self.events.append(EventHandler(frozenset(kinds), func, _name(func, self.name)))
            return func

        return register

    def action_handler(
        self, action_id: str, asks: ActionPrompt | None = None
    ) -> Callable[[Handler], Handler]:
        """When a button with `action_id` (see `Button`) is clicked."""
        if not ACTION_ID.match(action_id):
            raise ValueError(f"an action id is a short lower-case word: {action_id!r}")

        def register(func: Handler) -> Handler:
            self.actions.append(ActionHandler(action_id, func, _name(func, self.name), asks))
            return func

        return register


class Registry:
    """Every handler the incident service runs: the built-in extension first, then the
    configured ones. One object, owned by the service (no module globals)."""

    def __init__(self, extensions: Iterable[Extension] = ()) -> None:
        self.extensions: list[Extension] = []
        self._commands: dict[str, CommandHandler] = {}
        self._actions: dict[str, ActionHandler] = {}
        self._notifications: dict[str, NotificationHandler] = {}
        # "handler: what went wrong", the latest FAILURES_KEPT, for the status page and tests
        self.failures: deque[str] = deque(maxlen=FAILURES_KEPT)
        self._replaceable: set[str] = set()  # handler names a later extension may take over
        for extension in extensions:
            self.include(extension)

    def include(self, extension: Extension) -> None:
        """Add `extension`'s handlers. A command name, action id or notification already
        taken is logged and skipped (the first one registered keeps it), unless it was
        taken by a `replaceable` extension (the built-in one): a team's own handler of the
        same name replaces it."""
        if any(e is extension for e in self.extensions):
            return
        self.extensions.append(extension)
        if extension.replaceable:
            self._replaceable.update(c.name for c in extension.commands)
            self._replaceable.update(a.name for a in extension.actions)
            self._replaceable.update(n.name for n in extension.notifications)
        for command in extension.commands:
            for name in command.names:
                if self._taken(self._commands, name, command.name, "command"):
                    self._commands[name] = command
        for action in extension.actions:
            if self._taken(self._actions, action.action_id, action.name, "action"):
                self._actions[action.action_id] = action
        for note in extension.notifications:
            if self._taken(self._notifications, note.key, note.name, "notification"):
                self._notifications[note.key] = note

    def _taken(self, table: dict[str, Any], key: str, who: str, what: str) -> bool:
        """Whether `who` may have `key` (free, or held by a replaceable handler)."""
        if key not in table:
            return True
        holder = table[key].name
        if holder in self._replaceable:
            log.info("incident extension %s replaces the built-in %s %r", who, what, key)
            return True
        self._failed(who, f"{what} {key!r} is already handled by {holder}; skipped")
        return False

    def load(self, module_path: str) -> bool:
        """Import `module_path` and include every `Extension` it defines at module level.
        An import error, or a module without one, is logged and skipped (returns False)."""
        try:
            module = importlib.import_module(module_path)
        except Exception as exc:  # any error in someone else's module: log it, carry on
            self._failed(module_path, f"cannot be imported: {type(exc).__name__}: {exc}", exc)
            return False
        found = [value for value in vars(module).values() if isinstance(value, Extension)]
        if not found:
            self._failed(module_path, "defines no netbot.incidents.Extension")
            return False
        for extension in found:
            self.include(extension)
        log.info("incident extension %s loaded (%s)", module_path, self.summary(found))
        return True

    def _failed(self, who: str, what: str, exc: BaseException | None = None) -> None:
        error_id = new_error_id()
        self.failures.append(f"{who}: {what}")
        log.error("incident extension %s: %s (error %s)", who, what, error_id, exc_info=exc)

    @staticmethod
    def summary(extensions: Iterable[Extension]) -> str:
        counts = {"commands": 0, "notifications": 0, "keywords": 0, "events": 0, "actions": 0}
        for e in extensions:
            for kind in counts:
                counts[kind] += len(getattr(e, kind))
        return ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "no handlers"

    # ------------------------------------------------------------------ looking up
    def commands(self) -> list[CommandHandler]:
        """Each command handler once, in registration order."""
        return list({id(c): c for c in self._commands.values()}.values())

    def command(self, name: str) -> CommandHandler | None:
        return self._commands.get(name.lower())

    def action(self, action_id: str) -> ActionHandler | None:
        return self._actions.get(action_id)

    def notifications(self) -> list[NotificationHandler]:
        return list(self._notifications.values())

    def notification(self, key: str) -> NotificationHandler | None:
        return self._notifications.get(key)

    def keyword_matches(self, text: str) -> list[KeywordHandler]:
        """The keyword handlers `text` triggers, each once."""
        return [k for e in self.extensions for k in e.keywords if k.pattern.search(text)]

    def event_handlers(self, kind: str) -> list[EventHandler]:
        return [h for e in self.extensions for h in e.events if kind in h.kinds]

    @property
    def needs_message_content(self) -> bool:
        """Whether some handler reads message text (keywords, message events): Discord
        sends it only with the privileged Message Content intent."""
        return any(
            e.keywords or any(h.kinds & {"message", "message_edit"} for h in e.events)
            for e in self.extensions
        )

    # ------------------------------------------------------------------ running
    async def run(self, name: str, func: Handler, incident: Incident, *args: Any) -> Ran:
        """`func(*args)` (awaited if it is a coroutine); an exception is logged with the
        handler's name, the incident and an error id, and goes no further. A `UserError`
        (from an action the handler asked for, on the user's input) is raised as it is."""
        try:
            result = func(*args)
            if inspect.isawaitable(result):
                result = await result
        except UserError:
            raise  # the user's input refused (closing a closed incident...): theirs to see
        except Exception as exc:
            error_id = new_error_id()
            self.failures.append(f"{name}: {type(exc).__name__}: {exc}")
            log.error(
                "incident handler %s failed on incident %s (error %s)",
                name, incident.id, error_id, exc_info=exc,
            )  # fmt: skip
            return Ran(False, None, error_id)
        return Ran(True, result)


def load_registry(builtin: Extension, module_paths: Sequence[str]) -> Registry:
    """The registry of a service: `builtin`, then each configured module (broken ones
    logged and skipped); says in the log when keyword handlers need Message Content."""
    registry = Registry([builtin])
    for path in module_paths:
        registry.load(path)
    if registry.needs_message_content:
        log.info(
            "incident keyword/message handlers are registered: they need Discord's privileged "
            "Message Content intent (enable it for the bot in the Developer Portal)"
        )
    return registry
