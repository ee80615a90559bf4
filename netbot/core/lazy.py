"""Names a package exports but imports only when first asked for (PEP 562).

A capability's package names its heavy parts (an engine pulling in aiohttp and SQLAlchemy, a
configuration model pulling in pydantic) without importing them, so a command that needs only
the light parts (`tickets.py` list, `python -m netbot.alerts replay`) starts fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, modules: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: each name in `modules` comes from the module
    given for it, imported on first use; any other name is an AttributeError as usual."""

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
