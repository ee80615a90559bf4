"""Redmine through python-redmine, shared by tickets, `tickets.py` and the threader."""

from netbot.redmine.gateway import ActorRefused, OutcomeUnknown, RedmineGateway, TimeoutEngine

__all__ = ["ActorRefused", "OutcomeUnknown", "RedmineGateway", "TimeoutEngine"]
