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
