"""`python -m netbot.alerts replay ...` (see netbot/alerts/replay.py)."""

import sys

from netbot.alerts.replay import main

sys.exit(main())
