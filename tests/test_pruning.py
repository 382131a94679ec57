"""Old versions are pruned inside `pulumi up`, never one that something still serves."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from components.pruning import VersionPruner
from tests.harness import evaluate, load_stack, with_
from tests.own_calls import DYNAMIC, REGION, function_with_versions

NAME = "svc"


@pytest.fixture
def lam(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield boto3.client("lambda", region_name=REGION)


def versions(lam) -> list[str]:
    return [
        v["Version"] for v in lam.list_versions_by_function(FunctionName=NAME)["Versions"] if v["Version"] != "$LATEST"
    ]


def prune(keep: int, pinned: tuple[str, ...] = ()) -> list[str]:
    return VersionPruner().prune({"function_name": NAME, "keep": keep, "pinned": list(pinned), "region": REGION})


def test_the_newest_versions_are_kept_and_the_older_ones_deleted(lam):
    function_with_versions(NAME, 6)
    lam.create_alias(FunctionName=NAME, Name="live", FunctionVersion="6")
    assert prune(keep=3) == ["1", "2", "3"]
    assert versions(lam) == ["4", "5", "6"]


def test_a_version_an_alias_serves_or_routes_to_is_never_deleted(lam):
    function_with_versions(NAME, 6)
    # live serves 2 (a rollback) and routes a canary share to 1.
    lam.create_alias(FunctionName=NAME, Name="live", FunctionVersion="2",
                     RoutingConfig={"AdditionalVersionWeights": {"1": 0.1}})  # fmt: skip
    assert prune(keep=2) == ["3", "4"]
    assert versions(lam) == ["1", "2", "5", "6"]


def test_a_version_the_stack_file_pins_is_never_deleted(lam):
    function_with_versions(NAME, 5)
    lam.create_alias(FunctionName=NAME, Name="live", FunctionVersion="5")
    assert prune(keep=2, pinned=("1",)) == ["2", "3"]
    assert versions(lam) == ["1", "4", "5"]


def test_nothing_is_deleted_when_no_more_versions_exist_than_are_kept(lam):
    function_with_versions(NAME, 3)
    lam.create_alias(FunctionName=NAME, Name="live", FunctionVersion="3")
    assert prune(keep=10) == []
    assert versions(lam) == ["1", "2", "3"]


def test_a_version_taken_into_use_since_the_listing_is_kept_and_the_rest_go_on(lam, monkeypatch):
    function_with_versions(NAME, 4)
    lam.create_alias(FunctionName=NAME, Name="live", FunctionVersion="4")
    original = boto3.session.Session.client

    def client(self, *args, **kwargs):  # a delete refused as AWS refuses one in use
        made = original(self, *args, **kwargs)

        def refuse(params, **_):
            if params.get("Qualifier") == "1":
                raise made.exceptions.ResourceConflictException(
                    {"Error": {"Code": "ResourceConflictException", "Message": "in use"}}, "DeleteFunction"
                )

        made.meta.events.register("before-parameter-build.lambda.DeleteFunction", refuse)
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)
    assert prune(keep=1) == ["2", "3"]
    assert versions(lam) == ["1", "4"]


def test_the_decision_is_a_pure_function_of_the_listing():
    assert VersionPruner.stale(["$LATEST", "1", "2", "10", "11"], {"2"}, keep=2) == ["1"]


def test_every_function_gets_its_pruning_after_its_alias_with_what_the_stack_file_pins():
    graph = evaluate(with_("dev", function={"canaryWeight": 10, "stableVersion": "6"}))
    (pruning,) = graph.of_type(DYNAMIC)
    assert pruning.inputs["keep"] == 10 and pruning.inputs["pinned"] == ["6"]
    assert pruning.inputs["function_name"] == graph.outputs["functionName"]
    assert graph.depends_on(pruning, graph.one("aws:lambda/alias:Alias"))
    config = {
        **load_stack("dev"),
        "lambda-alb:function": {},
        "lambda-alb:functions": {"api": {}, "web": {"keepVersions": 3}},
        "lambda-alb:routes": [{"priority": 1, "pathPatterns": ["/api/*"], "function": "api"}],
        "lambda-alb:loadBalancer": {"defaultAction": {"forward": "web"}},
    }
    several = evaluate(config)
    assert sorted(r.inputs["keep"] for r in several.of_type(DYNAMIC)) == [3, 10]


def test_the_provider_stored_in_the_state_loads_where_none_of_this_project_is(tmp_path):
    # The Pulumi engine runs a dynamic provider in a process of its own, from what dill stored in the
    # state: the provider must come whole (by value), not as an import of this project's modules.
    import subprocess
    import sys

    from pulumi.dynamic.dynamic import serialize_provider

    stored = serialize_provider(VersionPruner())
    load = (
        "import base64, sys, dill; provider = dill.loads(base64.b64decode(sys.stdin.read())); "
        "print(provider.stale(['1', '2', '3'], {'1'}, 1), provider.diff('id', {'keep': 1}, {'keep': 2}).changes)"
    )
    ran = subprocess.run([sys.executable, "-I", "-c", load], input=stored, text=True, capture_output=True, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["['2']", "True"]
