"""`python -m netbot` starts the bot (see netbot/app.py)."""

import sys

from netbot.app import main

sys.exit(main())
