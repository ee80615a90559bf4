"""`python -m netbot` starts the bot (see netbot/app.py).

Before importing anything of netbot's, it makes sure this Python can run it: 3.11 or newer,
with the dependencies installed (usually: run from the virtual environment). Otherwise it
says so in one line (exit code 2) instead of a SyntaxError or ImportError traceback, so this
file itself must stay valid for older Pythons.
"""

import sys
from typing import NoReturn  # noqa: F401 (used in a type comment)

EXIT_CONFIG = 2
FIX = "create the virtual environment and use it: python3.11 -m venv .venv && .venv/bin/pip install -r requirements.txt && .venv/bin/python -m netbot"


def fail(line):  # type: (str) -> NoReturn
    # A type comment, not annotations: Pythons older than 3.11 must be able to read this.
    sys.stderr.write("netbot cannot start: " + line + "\n")
    sys.exit(EXIT_CONFIG)


if sys.version_info < (3, 11):  # noqa: UP036 (the point: run by an older Python)
    fail(
        "it needs Python 3.11 or newer, and this is "
        + ".".join(map(str, sys.version_info[:2]))
        + " ("
        + sys.executable
        + "); "
        + FIX
    )

try:
    from netbot.app import main
except ImportError as error:
    if (error.name or "").split(".")[0] == "netbot":
        raise  # a bug in netbot, not a missing dependency
    fail(
        "the Python package providing "
        + repr(error.name)
        + " is not installed for "
        + sys.executable
        + " (not the virtual environment?); "
        + FIX
    )

sys.exit(main())
