"""Test-wide plugins: the network guard, the real Redmine, the fake Discord, the no-skip rule."""

pytest_plugins = [
    "tests.network_guard",
    "tests.plugins.no_skip",
    "tests.plugins.redmine_server",
    "tests.fakediscord.pytest_plugin",
]
