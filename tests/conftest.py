"""Test configuration: fixtures are registered by domain, explicitly."""

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.demo",
    "tests.fixtures.api",
]
