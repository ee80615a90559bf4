"""Test-wide plugins: the network guard, the real Redmine, the fake Discord, the no-skip rule."""

pytest_plugins = [
    "fakes.network_guard",
    "tests.plugins.no_skip",
    "tests.plugins.redmine_server",
    "tests.plugins.databases",
    "tests.plugins.world",
    "fakes.discord.pytest_plugin",
]
