"""Shared fixtures (the real dev and prod stacks, evaluated once each under Pulumi's mocks) and
each test's kind, given by its file, so that ``-m "not integration"`` is the fast loop."""

from __future__ import annotations

import os
import shutil
import tempfile
from fnmatch import fnmatch
from typing import Any

import pytest

from tests.harness import SHARED_GRAPHS

# File name pattern -> the kinds (markers, registered in pyproject.toml) of every test in it;
# the first pattern that matches wins. Integration tests start servers or other processes.
KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("test_localalb_cli.py", ("localalb", "integration")),
    ("test_localalb_server.py", ("localalb", "integration")),
    ("test_localalb_health.py", ("localalb", "integration")),
    ("test_localalb_functions.py", ("localalb", "integration")),
    ("test_localalb_attacks.py", ("localalb", "integration")),
    ("test_localalb_https.py", ("localalb", "integration")),
    ("test_localalb_fuzz.py", ("localalb", "integration")),
    ("test_localalb_*.py", ("localalb",)),
    ("test_smoke.py", ("integration",)),  # the local ALB and a moto server
    ("test_workflows.py", ("integration",)),  # check-jsonschema and zizmor as processes
    ("test_devtool.py", ("integration",)),  # git and ruff as processes
    ("test_generated.py", ("integration",)),  # check-jsonschema as a process
    ("test_dependencies.py", ("integration",)),  # pip builds function dependencies
    ("test_install.py", ("integration",)),  # pip installs the package
    ("test_stacks.py", ("stacks",)),
    ("test_config.py", ("stacks",)),
    ("test_operations.py", ("stacks",)),
    ("test_bootstrap.py", ("stacks",)),
    ("test_component_api.py", ("stacks",)),
    ("test_costs.py", ("stacks",)),
    ("test_deploy_correctness.py", ("stacks",)),
    ("test_functions.py", ("stacks",)),
    ("test_releases.py", ("stacks",)),
    ("test_function_network.py", ("stacks",)),
    ("test_package.py", ("stacks",)),
    ("test_policy.py", ("stacks",)),
    ("test_permissions.py", ("stacks",)),
    ("test_permissions_isolation.py", ("stacks",)),
    ("test_permissions_reference.py", ("stacks",)),
    ("test_attacks.py", ("stacks",)),
    ("test_change_safety.py", ("stacks",)),
    ("test_review_stacks.py", ("stacks",)),
    ("test_pruning.py", ("stacks", "integration")),  # moto, the program under mocks, a process
    ("test_release.py", ("integration",)),  # moto, Stubber, a process
    ("test_*.py", ("unit",)),
)


def kinds_of(file_name: str) -> tuple[str, ...]:
    """The markers a test gets from the name of its file."""
    return next(kinds for pattern, kinds in KINDS if fnmatch(file_name, pattern))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for kind in kinds_of(item.path.name):
            item.add_marker(kind)


@pytest.fixture(scope="session")
def dev():
    """The graph of ``Pulumi.dev.yaml`` as ``pulumi up -s dev`` would register it."""
    from tests.harness import evaluate, load_stack

    return evaluate(load_stack("dev"), "dev")


@pytest.fixture(scope="session")
def prod():
    """The graph of ``Pulumi.prod.yaml`` as ``pulumi preview -s prod`` sees it (its certificate ARN
    is the documented placeholder, which only a preview accepts)."""
    from tests.harness import evaluate, load_stack

    return evaluate(load_stack("prod"), "prod", preview=True)


def pytest_addoption(parser):
    """``--fuzz``: run the property-based tests (Hypothesis) long, instead of a few seconds."""
    parser.addoption("--fuzz", action="store_true", help="many more Hypothesis examples (minutes)")


def pytest_collectstart(collector):
    """Hypothesis's profile, loaded when collection reaches this folder, before any test module
    is imported (its tests take the profile when they are defined). Not in pytest_configure: with
    workers, the main process collects nothing, and importing Hypothesis there would delay starting
    them by half a second."""
    if not _profile_loaded:
        _load_hypothesis_profile(collector.config)
        _profile_loaded.append(True)


_profile_loaded: list[bool] = []


def _load_hypothesis_profile(config):
    from hypothesis import HealthCheck, settings

    # Examples that start processes or talk HTTP are slow by unit-test standards: no deadline.
    common: dict[str, Any] = {
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    }
    settings.register_profile("default", max_examples=60, **common)
    settings.register_profile("fuzz", max_examples=3000, **common)
    settings.load_profile("fuzz" if config.getoption("--fuzz") else "default")


def pytest_configure(config: pytest.Config) -> None:
    """On the run's controller, before its workers start: the folder where they share the graphs
    they evaluate (tests/harness.py); workers inherit it through the environment."""
    if not hasattr(config, "workerinput") and getattr(config.option, "numprocesses", None):
        os.environ[SHARED_GRAPHS] = tempfile.mkdtemp(prefix="lambda-alb-graphs-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and (folder := os.environ.pop(SHARED_GRAPHS, None)):
        shutil.rmtree(folder, ignore_errors=True)
