"""Redmine through python-redmine, shared by tickets, `tickets.py` and the threader."""

from netbot.redmine.gateway import OutcomeUnknown, RedmineGateway, TimeoutEngine

__all__ = ["OutcomeUnknown", "RedmineGateway", "TimeoutEngine"]
