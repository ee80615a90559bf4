"""Plain-text pieces of `/netbot status` and `/netbot help`, kept free of Discord objects."""

from __future__ import annotations

from typing import Any

from netbot.core.text import outside

AUTOCOMPLETE_LIMIT = 25
# How much of an unknown command name typed by the user is echoed back.
ECHO_LIMIT = 100


def status_lines(snapshot: dict[str, Any], cogs: list[str]) -> list[str]:
    """One line per component of a `Health.snapshot`: gateway, database, backends, cogs."""
    lines = [
        f"Gateway: {'connected' if snapshot['gateway']['connected'] else 'disconnected'}",
        f"Database: {'reachable' if snapshot['database']['reachable'] else 'UNREACHABLE'}",
    ]
    for name, backend in snapshot["backends"].items():
        if backend.get("failing"):
            lines.append(f"{name}: failing ({backend.get('last_error') or 'no detail'})")
        else:
            lines.append(f"{name}: ok (last success {backend.get('last_success') or 'never'})")
    lines.append(f"Cogs: {', '.join(cogs) if cogs else 'none'}")
    return lines


def help_topics(commands: dict[str, tuple[str, list[str]]], typed: str) -> list[str]:
    """Command names containing what the user typed, names starting with it first."""
    needle = typed.strip().lower().lstrip("/")
    names = sorted(n for n in commands if needle in n.lower())
    names.sort(key=lambda n: not n.lower().startswith(needle))
    return names[:AUTOCOMPLETE_LIMIT]


def command_help(commands: dict[str, tuple[str, list[str]]], name: str) -> str:
    """A short description of one command, or a list of the known ones."""
    key = name.strip().lstrip("/")
    if key not in commands:
        known = ", ".join(f"/{n}" for n in sorted(commands))
        return f"There is no command /{outside(key, ECHO_LIMIT)}. Commands: {known}"
    description, options = commands[key]
    usage = " ".join(f"<{o}>" for o in options)
    return f"/{key} {usage}".rstrip() + f"\n{description}"
