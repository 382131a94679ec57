"""The README and Pulumi.yaml stay true to the settings model."""

import re
from pathlib import Path

import yaml

from components import limits, settings
from components.model import CAMEL

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()


def test_the_configuration_reference_documents_every_key():
    keys = (
        list(settings.FunctionArgs.keys())
        + list(settings.LoadBalancerArgs.keys())
        + [f"healthCheck.{k}" for k in settings.HealthCheckArgs.keys(CAMEL)]
        + list(settings.RouteArgs.keys())
        + list(settings.AccessLogsArgs.keys())
        + list(settings.MonitoringArgs.keys())
        + list(settings.WafArgs.keys())
    )
    missing = [k for k in keys + list(settings.TOP_LEVEL_KEYS) if k != "healthCheck" and f"`{k}`" not in CONFIGURATION]
    assert not missing


def test_the_configuration_reference_states_the_code_defaults():
    for value in (
        limits.DEFAULT_RUNTIME,
        limits.DEFAULT_SSL_POLICY,
        f"`{limits.DEFAULT_MEMORY_MB}`",
        f"`{limits.DEFAULT_TIMEOUT_S}`",
        f"`{limits.DEFAULT_LOG_RETENTION_DAYS}`",
        f"`{limits.DEFAULT_LOG_EXPIRATION_DAYS}`",
    ):
        assert value in CONFIGURATION


def test_every_link_to_a_document_of_the_repository_resolves():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"


def test_pulumi_yaml_declares_every_key_with_type_description_and_default():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == settings.NAMESPACE
    assert project["runtime"]["name"] == "python"  # its options: tests/test_locks.py
    declared = project["config"]
    assert set(declared) == set(settings.TOP_LEVEL_KEYS)
    for key, declaration in declared.items():
        assert declaration["type"] in ("object", "array", "string"), key
        assert declaration["description"], key
        assert "default" in declaration, key
    assert declared["routes"]["items"] == {"type": "object"}
    # A plain name is a string, empty unless given (the program then names the stack's resources).
    assert declared["serviceName"]["type"] == "string" and declared["serviceName"]["default"] == ""


def test_stack_files_hold_only_data_of_known_namespaces():
    for stack in ("dev", "prod"):
        config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        assert {key.split(":")[0] for key in config} <= {"aws", settings.NAMESPACE}
