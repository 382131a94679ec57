"""The bootstrap program under mocks: who may assume each pipeline role, and what each may do."""

import json

import pulumi
import pytest

from tests.harness import ACCOUNT, ROOT, AwsMocks, evaluate

BOOTSTRAP = ROOT / "bootstrap"
REPO = "acme/lambda-alb"


def run(**config):
    values = {
        "aws:region": "us-east-1",
        "lambda-alb-bootstrap:githubRepository": REPO,
        **{f"lambda-alb-bootstrap:{k}": v for k, v in config.items()},
    }
    return evaluate(values, "main", AwsMocks(), program_dir=BOOTSTRAP, project="lambda-alb-bootstrap")


@pytest.fixture(scope="module")
def graph():
    return run()


def roles(graph) -> dict:
    return {r.inputs["name"]: r for r in graph.of_type("aws:iam/role:Role")}


def policy_of(graph, role_name) -> dict:
    attached = next(r for r in graph.of_type("aws:iam/rolePolicy:RolePolicy") if r.inputs["role"] == f"{role_name}-id")
    return json.loads(attached.inputs["policy"])


def test_one_oidc_provider_for_github_and_sts(graph):
    provider = graph.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").inputs
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["clientIdLists"] == ["sts.amazonaws.com"]


@pytest.mark.parametrize(
    ("role", "subject"),
    [
        ("ci-lambda-alb-preview", f"repo:{REPO}:pull_request"),
        ("ci-lambda-alb-deploy-dev", f"repo:{REPO}:ref:refs/heads/main"),
        ("ci-lambda-alb-deploy-prod", f"repo:{REPO}:environment:prod"),
    ],
)
def test_each_role_trusts_only_this_repository_and_its_kind_of_run(graph, role, subject):
    trust = json.loads(roles(graph)[role].inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {
        "Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    }
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": subject,
        }
    }


def test_preview_role_cannot_change_anything(graph):
    actions = [a for s in policy_of(graph, "ci-lambda-alb-preview")["Statement"] for a in s["Action"]]
    writes = [
        a
        for a in actions
        if a.split(":")[1].startswith(
            (
                "Create",
                "Delete",
                "Put",
                "Update",
                "Modify",
                "Add",
                "Remove",
                "Register",
                "Authorize",
                "Revoke",
                "Invoke",
                "Pass",
            )
        )
    ]
    assert writes == []


def test_deploy_roles_manage_only_the_projects_resources(graph):
    for role in ("ci-lambda-alb-deploy-dev", "ci-lambda-alb-deploy-prod"):
        for statement in policy_of(graph, role)["Statement"]:
            assert "*" not in statement["Action"], statement
            assert not any(a.endswith(":*") for a in statement["Action"]), statement
            if statement["Sid"] in (
                "Function",
                "FunctionRole",
                "FunctionLogs",
                "AccessLogBucket",
                "LoadBalancing",
                "Alarms",
            ):
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                assert all("lambda-alb-*" in r for r in resources), statement


def test_a_deploy_role_cannot_rewrite_the_pipelines_own_roles(graph):
    statement = next(
        s for s in policy_of(graph, "ci-lambda-alb-deploy-prod")["Statement"] if s["Sid"] == "FunctionRole"
    )
    assert statement["Resource"] == f"arn:aws:iam::{ACCOUNT}:role/lambda-alb-*"
    assert all(not name.startswith("lambda-alb-") for name in roles(graph))


def test_pass_role_only_to_lambda(graph):
    statement = next(
        s
        for s in policy_of(graph, "ci-lambda-alb-deploy-dev")["Statement"]
        if s["Sid"] == "PassFunctionRoleToLambdaOnly"
    )
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}


def test_self_managed_state_bucket_is_granted_to_every_role():
    graph = run(stateBucket="acme-pulumi-state")
    for role in roles(graph):
        sids = {s["Sid"]: s for s in policy_of(graph, role)["Statement"]}
        assert sids["PulumiStateBackend"]["Resource"] == [
            "arn:aws:s3:::acme-pulumi-state",
            "arn:aws:s3:::acme-pulumi-state/*",
        ]


def test_existing_oidc_provider_is_looked_up_not_created():
    graph = run(createOidcProvider=False)
    assert not graph.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider" in graph.invokes


def test_role_arns_are_exported_for_the_repository_variables(graph):
    assert graph.outputs == {
        "previewRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ci-lambda-alb-preview",
        "deployDevRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ci-lambda-alb-deploy-dev",
        "deployProdRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ci-lambda-alb-deploy-prod",
    }


def test_bad_repository_is_a_clear_error():
    with pytest.raises(pulumi.RunError, match="githubRepository: 'not a repo' is not owner/name"):
        run(githubRepository="not a repo")
