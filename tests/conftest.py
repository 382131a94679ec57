"""Shared fixtures: the real dev and prod stacks, evaluated once each under Pulumi's mocks."""

import pytest

from tests.harness import evaluate, load_stack


@pytest.fixture(scope="session")
def dev():
    """The graph of ``Pulumi.dev.yaml`` as ``pulumi up -s dev`` would register it."""
    return evaluate(load_stack("dev"), "dev")


@pytest.fixture(scope="session")
def prod():
    """The graph of ``Pulumi.prod.yaml`` as ``pulumi preview -s prod`` sees it (its certificate ARN
    is the documented placeholder, which only a preview accepts)."""
    return evaluate(load_stack("prod"), "prod", preview=True)


def pytest_addoption(parser):
    """``--fuzz``: run the property-based tests (Hypothesis) long, instead of a few seconds."""
    parser.addoption("--fuzz", action="store_true", help="many more Hypothesis examples (minutes)")


def pytest_configure(config):
    from hypothesis import HealthCheck, settings

    # Examples that start processes or talk HTTP are slow by unit-test standards: no deadline.
    common = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]}
    settings.register_profile("default", max_examples=60, **common)
    settings.register_profile("fuzz", max_examples=3000, **common)
    settings.load_profile("fuzz" if config.getoption("--fuzz") else "default")
