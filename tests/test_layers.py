"""The layer rules of ARCHITECTURE.md, checked on every import statement of the code.

Why: the layers only stay layers if a wrong import fails a test. This walks the syntax tree
of every module under netbot/ and cogs/ and of tickets.py and threader.py (imports inside
functions and under `if TYPE_CHECKING:` count too) and names each import that breaks a rule.
Imports by string (py-cord's `load_extension`, alembic's env.py loading the capability
registry through importlib) are not import statements and are not seen: ARCHITECTURE.md lists
them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# ---- the rules, as data (ARCHITECTURE.md quotes these) -----------------------------------
SOURCES = ("netbot", "cogs", "tickets.py", "threader.py")

# (a) the foundation: each may import only these of netbot's packages (and never discord).
FOUNDATION_MAY_IMPORT = {
    "netbot.core": ("netbot.core",),
    "netbot.chat": ("netbot.core", "netbot.chat"),
}
# (b) the only code that may import `discord` (and `discord.*`).
DISCORD_ALLOWED = ("netbot.discord_bot", "cogs")
# (c) a package is reached through its public names (`from netbot.tickets import X`), not
# its modules (`from netbot.tickets.service import X`), except for these, whose modules
# anyone may import directly ...
OPEN_PACKAGES = ("netbot.core", "netbot.chat")
# ... and except these composition roots, which wire everything and may import anything ...
COMPOSITION_ROOTS = ("netbot.app", "netbot.capabilities")
# ... and except a capability's own cog: `cogs.<name>` may import `netbot.<name>.*`.
# (d) cogs never import each other, and nothing outside cogs imports a cog (the bot loads
# them by name).
COGS = "cogs"
# -------------------------------------------------------------------------------------------


def module_name(path: Path) -> str:
    """`netbot/tickets/service.py` -> `netbot.tickets.service`; a package's `__init__` -> it."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    """Whether a dotted name is a module or package of this tree (not a name inside one)."""
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def unit(name: str) -> str:
    """The package a module belongs to for these rules: `netbot.X` or `cogs.X` (or a script)."""
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] in ("netbot", COGS) and len(parts) > 1 else parts[0]


def imports(module: str, source: str, *, is_package: bool = False) -> list[tuple[int, str, str]]:
    """(line, target module, imported name or "") for each import statement in `source`."""
    found: list[tuple[int, str, str]] = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if alias.name != "*" and is_module(sub):
                    found.append((node.lineno, sub, ""))  # `from pkg import submodule`
                else:
                    found.append((node.lineno, base, alias.name))
    return sorted(found)


def violations(module: str, source: str, *, is_package: bool = False) -> list[str]:
    """Every broken rule in one module's source, as `module:line: why`."""
    problems: list[str] = []
    home = unit(module)
    for line, target, name in imports(module, source, is_package=is_package):
        where = f"{module}:{line}: imports {target}{'.' + name if name else ''}"
        if within(target, "discord"):
            if not any(within(module, allowed) for allowed in DISCORD_ALLOWED):
                problems.append(f"{where} (only {', '.join(DISCORD_ALLOWED)} import discord)")
            continue
        if not within(target, "netbot") and not within(target, COGS):
            continue  # the standard library and third-party packages
        for layer, allowed in FOUNDATION_MAY_IMPORT.items():
            if within(module, layer) and not any(within(target, ok) for ok in allowed):
                problems.append(f"{where} ({layer} imports only {', '.join(allowed)})")
        if within(target, COGS) and unit(target) != home:
            problems.append(f"{where} (cogs are loaded by name; none imports another)")
            continue
        if (
            unit(target) == home
            or any(within(target, open_) for open_ in OPEN_PACKAGES)
            or any(within(module, root) for root in COMPOSITION_ROOTS)
            or (within(module, COGS) and unit(target) == "netbot." + home.partition(".")[2])
            or target == "netbot"
        ):
            continue
        if target != unit(target):
            problems.append(f"{where} (reach {unit(target)} through its public names)")
        elif name.startswith("_"):
            problems.append(f"{where} (a private name of {target})")
    return problems


def source_files() -> list[Path]:
    files: list[Path] = []
    for entry in SOURCES:
        path = ROOT / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def test_the_code_keeps_the_layers() -> None:
    problems = [
        problem
        for path in source_files()
        for problem in violations(
            module_name(path), path.read_text(), is_package=path.name == "__init__.py"
        )
    ]
    assert problems == [], "layer rules broken (see ARCHITECTURE.md):\n" + "\n".join(problems)


def test_the_walk_sees_every_source() -> None:
    names = {module_name(path) for path in source_files()}
    assert {"netbot.core.db", "netbot.tickets.service", "cogs.tickets.cog", "tickets"} <= names


@pytest.mark.parametrize(
    ("module", "source", "why"),
    [
        (
            "netbot.core.status",
            "from netbot.tickets import TicketsConfig",
            "netbot.core imports only",
        ),
        ("netbot.core.db", "import discord", "only netbot.discord_bot, cogs import discord"),
        ("netbot.chat", "from netbot.redmine import RedmineGateway", "netbot.chat imports only"),
        ("netbot.core.health", "from ..alerts import engine", "netbot.core imports only"),
        ("netbot.core.health", "def f():\n    from netbot.identity import x", "imports only"),
        ("tickets", "from discord.ext import commands", "import discord"),
        ("netbot.tickets.service", "import discord", "import discord"),
        ("tickets", "from netbot.tickets.service import TicketService", "public names"),
        ("threader", "from netbot.tickets import service", "public names"),
        ("netbot.alerts.engine", "import netbot.redmine.gateway", "public names"),
        ("cogs.alerts", "from netbot.tickets.catalog import Catalog", "public names"),
        ("netbot.tickets.service", "from netbot.identity import _private", "a private name"),
        ("cogs.alerts", "from cogs.tickets import render", "none imports another"),
        ("netbot.tickets.service", "import cogs.tickets", "none imports another"),
    ],
)
def test_a_forbidden_import_is_caught(module: str, source: str, why: str) -> None:
    found = violations(module, source)
    assert len(found) >= 1 and why in found[0], found


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("cogs.tickets.cog", "from netbot.tickets.service import TicketService"),
        ("cogs.tickets.cog", "from cogs.tickets import render"),
        ("cogs.alerts", "from netbot.alerts.engine import AlertEngine\nimport discord"),
        ("netbot.tickets.service", "from netbot.redmine import RedmineGateway"),
        ("netbot.tickets.service", "from netbot.core.db import Database"),
        ("netbot.alerts.engine", "from netbot.chat import Post"),
        ("netbot.chat", "from netbot.core.text import outside"),
        ("netbot.app", "from netbot.tickets.service import TicketService"),
        ("netbot.capabilities", "from netbot import alerts, tickets"),
        ("netbot.discord_bot.bot", "import discord\nfrom netbot.capabilities import CAPABILITIES"),
        ("netbot.tickets.format", "from .records import Change"),
        ("tickets", "import argparse\nfrom netbot.tickets import TicketsConfig"),
    ],
)
def test_an_allowed_import_passes(module: str, source: str) -> None:
    assert violations(module, source) == []


def test_architecture_md_quotes_the_rules_as_enforced() -> None:
    """ARCHITECTURE.md states these rules word for word, so the two cannot drift apart."""
    text = " ".join((ROOT / "ARCHITECTURE.md").read_text().split())  # lines rewrapped
    for name, value in (
        ("DISCORD_ALLOWED", DISCORD_ALLOWED),
        ("OPEN_PACKAGES", OPEN_PACKAGES),
        ("COMPOSITION_ROOTS", COMPOSITION_ROOTS),
    ):
        quoted = f"{name} = (" + ", ".join(f'"{item}"' for item in value) + ")"
        assert quoted in text, f"ARCHITECTURE.md should quote `{quoted}`"
    for layer, allowed in FOUNDATION_MAY_IMPORT.items():
        assert f"`{layer}` imports only " + " and ".join(f"`{a}`" for a in allowed) in text
