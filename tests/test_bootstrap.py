"""The bootstrap program under mocks: who may assume each pipeline role, and what each may do."""

import json

import pulumi
import pytest
import yaml

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
        ("ci-lambda-alb-preview", [f"repo:{REPO}:pull_request", f"repo:{REPO}:ref:refs/heads/main"]),
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


ROLE_VARIABLES = {
    "AWS_PREVIEW_ROLE_ARN": "ci-lambda-alb-preview",
    "AWS_DEPLOY_DEV_ROLE_ARN": "ci-lambda-alb-deploy-dev",
    "AWS_DEPLOY_PROD_ROLE_ARN": "ci-lambda-alb-deploy-prod",
}


def oidc_subjects(workflow: dict, job: dict) -> set[str]:
    """The ``sub`` claims GitHub puts in a job's OIDC token, for each event that runs it on main:
    the environment's when the job has one, else the pull request's or the branch's."""
    if "environment" in job:
        environment = job["environment"]
        return {f"repo:{REPO}:environment:{environment if isinstance(environment, str) else environment['name']}"}
    events = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as True
    events = [events] if isinstance(events, str) else list(events)
    return {
        f"repo:{REPO}:pull_request"
        if event in ("pull_request", "pull_request_target")
        else f"repo:{REPO}:ref:refs/heads/main"
        for event in events
    }


def test_every_workflow_job_can_assume_the_role_it_names(graph):
    """A job whose token the role's trust policy does not accept fails before it starts."""
    checked = []
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        workflow = yaml.safe_load(path.read_text())
        for name, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                role = str(step.get("with", {}).get("role-to-assume", ""))
                variable = next((v for v in ROLE_VARIABLES if v in role), None)
                if variable is None:
                    continue
                trust = json.loads(roles(graph)[ROLE_VARIABLES[variable]].inputs["assumeRolePolicy"])
                allowed = trust["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
                allowed = {allowed} if isinstance(allowed, str) else set(allowed)
                assert oidc_subjects(workflow, job) <= allowed, f"{path.name} job {name} cannot assume {variable}"
                checked.append(f"{path.stem}/{name}")
    assert {"pull-request/preview", "deploy/dev", "deploy/prod", "drift/detect"} <= set(checked)


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


@pytest.mark.parametrize(("role", "stack", "other"), [("deploy-dev", "dev", "prod"), ("deploy-prod", "prod", "dev")])
def test_each_deploy_role_manages_only_its_own_stacks_resources(graph, role, stack, other):
    scoped = ("Function", "FunctionRole", "FunctionRoleWithBoundary", "Logs", "AccessLogBucket", "Alarms", "Waf")
    for statement in policy_of(graph, f"ci-lambda-alb-{role}")["Statement"]:
        assert "*" not in statement["Action"], statement
        assert not any(a.endswith(":*") for a in statement["Action"]), statement
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert not any(f"lambda-alb-{other}" in r for r in resources), statement
        if statement["Sid"] in scoped:
            assert all(f"lambda-alb-{stack}" in r for r in resources), statement


def test_roles_a_deploy_creates_must_carry_the_function_boundary(graph):
    boundary = graph.outputs["functionBoundaryArn"]
    statements = {s["Sid"]: s for s in policy_of(graph, "ci-lambda-alb-deploy-prod")["Statement"]}
    guarded = statements["FunctionRoleWithBoundary"]
    assert {"iam:CreateRole", "iam:PutRolePolicy"} <= set(guarded["Action"])
    assert guarded["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": boundary}}
    assert "iam:CreateRole" not in statements["FunctionRole"]["Action"]
    assert statements["KeepTheBoundary"]["Effect"] == "Deny"
    statements = json.loads(graph.one("aws:iam/policy:Policy").inputs["policy"])["Statement"]
    allowed = {a: s["Resource"] for s in statements for a in s["Action"]}
    # Logs, traces and a VPC function's network interfaces: nothing else (tests/test_function_network.py
    # checks that every action a function's own policy grants is within it).
    assert {a.split(":")[0] for a in allowed} == {"logs", "xray", "ec2"}
    assert all(a.startswith(("ec2:", "logs:CreateLogStream", "logs:PutLogEvents", "xray:Put")) for a in allowed)
    # Logs only in the project's function log groups; X-Ray has no resource-level permissions.
    assert allowed["logs:PutLogEvents"] == [
        "arn:aws:logs:*:*:log-group:/aws/lambda/lambda-alb-*",
        "arn:aws:logs:*:*:log-group:/aws/lambda/lambda-alb-*:*",
    ]
    assert allowed["xray:PutTraceSegments"] == "*"


def test_pass_role_only_to_lambda(graph):
    statement = next(
        s
        for s in policy_of(graph, "ci-lambda-alb-deploy-dev")["Statement"]
        if s["Sid"] == "PassFunctionRoleToLambdaOnly"
    )
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}


def test_self_managed_state_bucket_is_readable_by_every_role_and_writable_by_path():
    graph = run(stateBucket="acme-pulumi-state")
    state = "arn:aws:s3:::acme-pulumi-state"
    written = {}
    for role in roles(graph):
        sids = {s["Sid"]: s for s in policy_of(graph, role)["Statement"]}
        assert sids["PulumiStateRead"]["Resource"] == [state, f"{state}/*"]
        written[role] = sids["PulumiStateWrite"]["Resource"]
    assert written["ci-lambda-alb-preview"] == [f"{state}/.pulumi/locks/*"]
    assert written["ci-lambda-alb-deploy-prod"] == [
        f"{state}/.pulumi/stacks/lambda-alb/prod.json*",
        f"{state}/.pulumi/history/lambda-alb/prod/*",
        f"{state}/.pulumi/backups/lambda-alb/prod/*",
        f"{state}/.pulumi/locks/organization/lambda-alb/prod/*",
    ]


def test_each_stacks_hosted_zone_is_given_to_its_own_deploy_role_only():
    graph = run(devHostedZoneId="Z0DEV1", prodHostedZoneId="Z0PROD2")
    dns = {
        role: [s["Resource"] for s in policy_of(graph, role)["Statement"] if s["Sid"] == "Dns"] for role in roles(graph)
    }
    assert dns == {
        "ci-lambda-alb-preview": [],
        "ci-lambda-alb-deploy-dev": ["arn:aws:route53:::hostedzone/Z0DEV1"],
        "ci-lambda-alb-deploy-prod": ["arn:aws:route53:::hostedzone/Z0PROD2"],
    }


def test_a_zone_shared_by_both_stacks_is_a_clear_error():
    with pytest.raises(pulumi.RunError, match="devHostedZoneId and prodHostedZoneId: all are 'Z0SAME'"):
        run(devHostedZoneId="Z0SAME", prodHostedZoneId="Z0SAME")


def test_existing_oidc_provider_is_looked_up_not_created():
    graph = run(createOidcProvider=False)
    assert not graph.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider" in graph.invokes


def test_role_arns_are_exported_for_the_repository_variables(graph):
    assert graph.outputs == {
        "functionBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/lambda-alb-function-boundary",
        "previewRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ci-lambda-alb-preview",
        "deployDevRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ci-lambda-alb-deploy-dev",
        "deployProdRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ci-lambda-alb-deploy-prod",
    }


def test_bad_repository_is_a_clear_error():
    with pytest.raises(pulumi.RunError, match="githubRepository: 'not a repo' is not owner/name"):
        run(githubRepository="not a repo")
