"""A fake Slack (Web API and Socket Mode) for tests and benches; see `fakes.slack.server`."""

from fakes.slack.server import ALL_SCOPES, APP_TOKEN, TOKEN, Call, Channel, FakeSlack, Message

__all__ = ["ALL_SCOPES", "APP_TOKEN", "TOKEN", "Call", "Channel", "FakeSlack", "Message"]
