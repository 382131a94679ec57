"""The bootstrap program under mocks: who may assume each pipeline role, and what each may do."""

import fnmatch
import json
from typing import Any

import pulumi
import pytest
import yaml

from bootstrap import access
from tests.harness import ACCOUNT, ROOT, AwsMocks, evaluate
from tests.iam_policy import Request, allows
from tests.test_workflows import ENVIRONMENT_JOBS

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


def parts_of(graph, role_name) -> list[dict]:
    """The managed policies attached to a role, in order."""
    attached = [r.inputs["policyArn"] for r in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if r.inputs["role"] == role_name]  # fmt: skip
    policies = {p.inputs["name"]: p for p in graph.of_type("aws:iam/policy:Policy")}
    return [json.loads(policies[arn.rsplit("/", 1)[1]].inputs["policy"]) for arn in attached]


def policy_of(graph, role_name) -> dict:
    """A role's whole policy: the statements of its parts (the filler of unused parts left out)."""
    statements = [s for part in parts_of(graph, role_name) for s in part["Statement"] if s["Sid"] != "Unused"]
    return {"Version": "2012-10-17", "Statement": statements}


def test_one_oidc_provider_for_github_and_sts(graph):
    provider = graph.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").inputs
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["clientIdLists"] == ["sts.amazonaws.com"]


def trust_of(graph, role_name) -> dict:
    (statement,) = json.loads(roles(graph)[role_name].inputs["assumeRolePolicy"])["Statement"]
    return statement


@pytest.mark.parametrize(
    ("role", "operator", "subject"),
    [
        ("ci-lambda-alb-preview-dev", "StringLike", f"repo:{REPO}:environment:dev-preview:ref:*"),
        (
            "ci-lambda-alb-preview-prod",
            "StringLike",
            [f"repo:{REPO}:environment:prod-preview:ref:*", f"repo:{REPO}:environment:prod-read:ref:refs/heads/main"],
        ),
        ("ci-lambda-alb-deploy-dev", "StringEquals", f"repo:{REPO}:environment:dev:ref:refs/heads/main"),
        ("ci-lambda-alb-deploy-prod", "StringEquals", f"repo:{REPO}:environment:prod:ref:refs/heads/main"),
        (
            "ci-lambda-alb-review",
            "StringLike",
            [f"repo:{REPO}:environment:review:ref:refs/pull/*", f"repo:{REPO}:environment:review:ref:refs/heads/main"],
        ),
    ],
)
def test_each_role_trusts_only_this_repository_and_its_environments(graph, role, operator, subject):
    statement = trust_of(graph, role)
    assert statement["Principal"] == {
        "Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    }
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
        operator: {"token.actions.githubusercontent.com:sub": subject},
    }


def job_environment(job: dict) -> str:
    """The environment a job runs in; a matrix's ``${{ matrix.environment }}`` gives one per entry."""
    environment = job.get("environment", "")
    return environment if isinstance(environment, str) else environment["name"]


def matrix_entries(job: dict) -> list[dict]:
    """The job once per matrix entry (``include`` lists), with its environment resolved."""
    entries = job.get("strategy", {}).get("matrix", {}).get("include") or [{}]
    return [
        {
            **entry,
            "environment": job_environment(job).replace("${{ matrix.environment }}", entry.get("environment", "")),
        }
        for entry in entries
    ]


def refs_of(workflow: dict) -> set[str]:
    """The refs a workflow's jobs run on: a pull request's merge ref, main, and, for a manual run,
    any branch (a feature branch stands for them)."""
    events: Any = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as True
    events = [events] if isinstance(events, str) else list(events)
    refs = set()
    for event in events:
        if event in ("pull_request", "pull_request_target"):
            refs.add("refs/pull/12/merge")
        else:
            refs.add("refs/heads/main")
        if event == "workflow_dispatch":
            refs.add("refs/heads/feature")
    return refs


def assumable(graph, role_name: str, sub: str) -> bool:
    """Whether the role's trust policy accepts a GitHub token with this subject."""
    statement = {**trust_of(graph, role_name), "Resource": "*"}
    context = {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": sub,
    }
    return allows([statement], Request("sts:AssumeRoleWithWebIdentity", ("*",), context))


def test_every_workflow_job_can_assume_its_environments_role_from_main_and_nothing_more(graph):
    """A job's token names its environment and ref; the role it gets is its environment's. On main
    it is accepted; a deploy role refuses the same job on any other ref (a manual run of a branch)."""
    environments = {e.name: e for e in access.ENVIRONMENTS}
    checked = []
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        workflow = yaml.safe_load(path.read_text())
        for name, job in workflow["jobs"].items():
            steps = [s for s in job.get("steps", []) if "configure-aws-credentials" in s.get("uses", "")]
            if not steps:
                continue
            assert all(s["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}" for s in steps), name
            for entry in matrix_entries(job):
                environment = environments[entry["environment"]]
                role = f"ci-lambda-alb-{environment.role}"
                for ref in refs_of(workflow):
                    sub = access.subject(REPO, environment.name, ref)
                    expected = any(fnmatch.fnmatchcase(ref, pattern) for pattern in environment.refs)
                    assert assumable(graph, role, sub) == expected, f"{path.name} {name} {environment.name} {ref}"
                    for other in set(access.ROLES) - {environment.role}:
                        assert not assumable(graph, f"ci-lambda-alb-{other}", sub), f"{name}: {other} accepts {sub}"
                checked.append(f"{path.stem}/{name}/{environment.name}")
    assert sorted(checked) == sorted(ENVIRONMENT_JOBS)


def test_a_deploy_role_refuses_the_default_subject_without_the_ref(graph):
    """Without the repository's subject template (docs/delivery.md) the token lacks the ref: refused."""
    assert not assumable(graph, "ci-lambda-alb-deploy-prod", f"repo:{REPO}:environment:prod")
    assert not assumable(graph, "ci-lambda-alb-deploy-prod", f"repo:{REPO}:environment:prod:ref:refs/heads/x")
    assert assumable(graph, "ci-lambda-alb-deploy-prod", f"repo:{REPO}:environment:prod:ref:refs/heads/main")


@pytest.mark.parametrize("role", ["ci-lambda-alb-preview-dev", "ci-lambda-alb-preview-prod"])
def test_a_preview_role_cannot_change_anything_nor_decrypt(graph, role):
    actions = [a for s in policy_of(graph, role)["Statement"] for a in s["Action"]]
    verbs = ("Create", "Delete", "Put", "Update", "Modify", "Add", "Remove", "Register", "Authorize", "Revoke")
    writes = [a for a in actions if a.split(":")[1].startswith((*verbs, "Invoke", "Pass", "Decrypt"))]
    assert writes == []


@pytest.mark.parametrize(("role", "stack", "other"), [("deploy-dev", "dev", "prod"), ("deploy-prod", "prod", "dev")])
def test_each_deploy_role_manages_only_its_own_stacks_resources(graph, role, stack, other):
    scoped = ("Function", "FunctionRoleWithBoundary", "FunctionRoleTags", "Logs", "AccessLogBucket", "Alarms", "Waf")
    for statement in policy_of(graph, f"ci-lambda-alb-{role}")["Statement"]:
        assert "*" not in statement["Action"], statement
        assert not any(a.endswith(":*") for a in statement["Action"]), statement
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert not any(f"lambda-alb-{other}" in r for r in resources), statement
        if statement["Sid"] in scoped:
            assert all(f"lambda-alb-{stack}" in r for r in resources), statement


@pytest.mark.parametrize(("stack", "other"), [("dev", "prod"), ("prod", "dev")])
def test_each_stack_has_its_own_boundary_and_key_and_its_roles_carry_them(graph, stack, other):
    boundary = graph.outputs[f"{stack}FunctionBoundaryArn"]
    key = graph.outputs[f"{stack}KeyArn"]
    assert boundary != graph.outputs[f"{other}FunctionBoundaryArn"] and key != graph.outputs[f"{other}KeyArn"]
    statements = {s["Sid"]: s for s in policy_of(graph, f"ci-lambda-alb-deploy-{stack}")["Statement"]}
    guarded = statements["FunctionRoleWithBoundary"]
    assert {"iam:CreateRole", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy"} <= set(guarded["Action"])
    assert guarded["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": boundary}}
    assert statements["KeepTheBoundary"]["Effect"] == "Deny"
    assert statements["StackKey"]["Resource"] == key
    policies = {p.inputs["name"]: p for p in graph.of_type("aws:iam/policy:Policy")}
    document = json.loads(policies[f"lambda-alb-{stack}-function-boundary"].inputs["policy"])
    allowed = {a: s["Resource"] for s in document["Statement"] for a in s["Action"]}
    # Logs, traces, the stack's key, a VPC function's network interfaces, and a release's moves of
    # live and its checks: nothing else (tests/test_function_network.py and tests/test_releases.py
    # check that each role's own policy is within it).
    assert {a.split(":")[0] for a in allowed} == {"logs", "xray", "ec2", "kms", "lambda", "codedeploy", "cloudwatch"}
    # What a release may do to functions and deployments, on this stack's own only.
    for action, resources in allowed.items():
        if action.startswith("lambda:") or action in ("codedeploy:GetDeployment", "codedeploy:GetApplicationRevision"):
            assert resources and all(f":lambda-alb-{stack}" in r for r in resources), (action, resources)
    assert allowed["cloudwatch:DescribeAlarms"] == "*"  # no resource-level permissions
    assert allowed["kms:Decrypt"] == key
    # Logs only in the stack's own function log groups; X-Ray has no resource-level permissions.
    assert sorted(allowed["logs:PutLogEvents"]) == [
        f"arn:aws:logs:*:{ACCOUNT}:log-group:/aws/lambda/lambda-alb-{stack}",
        f"arn:aws:logs:*:{ACCOUNT}:log-group:/aws/lambda/lambda-alb-{stack}-*",
        f"arn:aws:logs:*:{ACCOUNT}:log-group:/aws/lambda/lambda-alb-{stack}:*",
    ]
    groups = next(s for s in document["Statement"] if s["Sid"] == "FunctionSecurityGroups")
    assert groups["Condition"] == {"StringEquals": {"aws:ResourceTag/stack": stack}}


def test_stack_keys_are_rotated_and_administered_through_iam_only(graph):
    keys = graph.of_type("aws:kms/key:Key")
    assert len(keys) == 2
    for key in keys:
        assert key.inputs["enableKeyRotation"] is True
        statements = json.loads(key.inputs["policy"])["Statement"]
        assert statements[0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
        assert [s["Principal"] for s in statements[1:]] == [{"Service": "cloudwatch.amazonaws.com"}]
    aliases = sorted(a.inputs["name"] for a in graph.of_type("aws:kms/alias:Alias"))
    assert aliases == ["alias/lambda-alb-dev", "alias/lambda-alb-prod"]


def test_the_account_log_policy_for_waf_is_the_bootstraps(graph):
    (policy,) = graph.of_type("aws:cloudwatch/logResourcePolicy:LogResourcePolicy")
    (statement,) = json.loads(policy.inputs["policyDocument"])["Statement"]
    assert statement["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert statement["Resource"] == f"arn:aws:logs:*:{ACCOUNT}:log-group:aws-waf-logs-lambda-alb-*:*"
    for role in roles(graph):
        assert not any("logs:PutResourcePolicy" in s["Action"] for s in policy_of(graph, role)["Statement"]), role


def test_pass_role_only_to_lambda_and_codedeploy(graph):
    # A function's role goes to Lambda, a deployment group's to CodeDeploy; no deploy role passes a
    # role to any other service.
    passing = [
        s
        for s in policy_of(graph, "ci-lambda-alb-deploy-dev")["Statement"]
        if "iam:PassRole" in s["Action"] and s["Effect"] == "Allow"
    ]
    assert [s["Condition"] for s in passing] == [
        {"StringEquals": {"iam:PassedToService": ["codedeploy.amazonaws.com", "lambda.amazonaws.com"]}}
    ]


def test_self_managed_state_bucket_each_role_reads_and_writes_only_its_own_stack():
    graph = run(stateBucket="acme-pulumi-state")
    state = "arn:aws:s3:::acme-pulumi-state"
    read, written = {}, {}
    for role in roles(graph):
        sids = {s["Sid"]: s for s in policy_of(graph, role)["Statement"]}
        assert sids["PulumiStateList"]["Resource"] == state
        read[role], written[role] = sids["PulumiStateRead"]["Resource"], sids["PulumiStateWrite"]["Resource"]
    assert written["ci-lambda-alb-preview-prod"] == [f"{state}/.pulumi/locks/organization/lambda-alb/prod/*"]
    assert read["ci-lambda-alb-preview-dev"] == [
        f"{state}/.pulumi/meta.yaml",
        f"{state}/.pulumi/stacks/lambda-alb/dev.json*",
        f"{state}/.pulumi/locks/organization/lambda-alb/dev/*",
    ]
    assert written["ci-lambda-alb-deploy-prod"] == [
        f"{state}/.pulumi/stacks/lambda-alb/prod.json*",
        f"{state}/.pulumi/history/lambda-alb/prod/*",
        f"{state}/.pulumi/backups/lambda-alb/prod/*",
        f"{state}/.pulumi/locks/organization/lambda-alb/prod/*",
    ]
    for role, paths in {**read, **written}.items():
        other = "prod" if role.endswith("dev") else "dev"
        assert not any(f"/{other}" in p for p in paths), role


def test_each_stacks_hosted_zone_is_given_to_its_own_deploy_role_only():
    graph = run(devHostedZoneId="Z0DEV1", prodHostedZoneId="Z0PROD2")
    dns = {
        role: [s["Resource"] for s in policy_of(graph, role)["Statement"] if s["Sid"] == "Dns"] for role in roles(graph)
    }
    assert dns == {
        "ci-lambda-alb-preview-dev": [],
        "ci-lambda-alb-preview-prod": [],
        "ci-lambda-alb-deploy-dev": ["arn:aws:route53:::hostedzone/Z0DEV1"],
        "ci-lambda-alb-deploy-prod": ["arn:aws:route53:::hostedzone/Z0PROD2"],
        "ci-lambda-alb-review": [],
    }
    # A certificate only for names in the stack's own zone (the zone's name, looked up by its ID).
    requests = {
        role: s["Condition"]["ForAllValues:StringLike"]["acm:DomainNames"]
        for role in roles(graph)
        for s in policy_of(graph, role)["Statement"]
        if s["Sid"] == "CertificateRequest"
    }
    assert requests == {
        "ci-lambda-alb-deploy-dev": ["z0dev1.example.com", "*.z0dev1.example.com"],
        "ci-lambda-alb-deploy-prod": ["z0prod2.example.com", "*.z0prod2.example.com"],
    }


def test_without_a_zone_no_role_may_request_or_tag_a_certificate(graph):
    for role in roles(graph):
        assert not [a for s in policy_of(graph, role)["Statement"] if s["Effect"] == "Allow" for a in s["Action"]
                    if a.startswith("acm:") and not a.startswith(("acm:Describe", "acm:List"))], role  # fmt: skip


def test_named_certificates_and_web_acls_reach_the_policies():
    certificate = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/0000-prod-listener"
    acl = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:regional/webacl/edge/1111"
    graph = run(prodCertificateArns=[certificate], devWebAclArns=[acl])
    for role in ("deploy-dev", "deploy-prod"):
        sids = {s["Sid"]: s for s in policy_of(graph, f"ci-lambda-alb-{role}")["Statement"]}
        assert sids["KeepNamedCertificates"]["Effect"] == "Deny"
        # The listed one, and the one prod's stack file names.
        assert sids["KeepNamedCertificates"]["Resource"] == sorted(
            [certificate, *access.stack_file_certificates(ROOT, "prod")]
        )
        assert (acl in sids["WafOwnAcl"]["Resource"]) == (role == "deploy-dev")


def test_a_zone_or_acl_shared_by_both_stacks_is_a_clear_error():
    with pytest.raises(pulumi.RunError, match="devHostedZoneId and prodHostedZoneId: all are 'Z0SAME'"):
        run(devHostedZoneId="Z0SAME", prodHostedZoneId="Z0SAME")
    acl = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:regional/webacl/edge/1111"
    with pytest.raises(pulumi.RunError, match="devWebAclArns and prodWebAclArns: all name"):
        run(devWebAclArns=[acl], prodWebAclArns=[acl])
    with pytest.raises(pulumi.RunError, match="prodCertificateArns: 'arn:nope' is not an ACM certificate ARN"):
        run(prodCertificateArns=["arn:nope"])


def test_existing_oidc_provider_is_looked_up_not_created():
    graph = run(createOidcProvider=False)
    assert not graph.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider" in graph.invokes


def test_role_key_and_boundary_arns_are_exported_for_the_environments_and_stacks(graph):
    role = f"arn:aws:iam::{ACCOUNT}:role/ci-lambda-alb"
    assert graph.outputs == {
        "previewDevRoleArn": f"{role}-preview-dev",
        "previewProdRoleArn": f"{role}-preview-prod",
        "deployDevRoleArn": f"{role}-deploy-dev",
        "deployProdRoleArn": f"{role}-deploy-prod",
        "devKeyArn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/lambda-alb-dev-key",
        "prodKeyArn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/lambda-alb-prod-key",
        "devFunctionBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/lambda-alb-dev-function-boundary",
        "prodFunctionBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/lambda-alb-prod-function-boundary",
        "reviewRoleArn": f"{role}-review",
        "reviewFunctionBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/lambda-alb-review-function-boundary",
    }


def test_bad_repository_is_a_clear_error():
    with pytest.raises(pulumi.RunError, match="githubRepository: 'not a repo' is not owner/name"):
        run(githubRepository="not a repo")


def test_every_role_fits_iams_quotas_even_with_every_option_configured():
    """A managed policy holds at most 6,144 characters (white space not counted) and a role at most
    10 managed policies: the deploy policies are larger than one inline policy may be."""
    certificate = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/0000-prod-listener"
    acl = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:regional/webacl/edge/1111"
    graph = run(
        stateBucket="acme-pulumi-state", devHostedZoneId="Z0DEV1", prodHostedZoneId="Z0PROD2",
        devWebAclArns=[acl], prodCertificateArns=[certificate],
    )  # fmt: skip
    for role in roles(graph):
        parts = parts_of(graph, role)
        assert 1 <= len(parts) <= access.MANAGED_POLICIES_PER_ROLE, role
        assert all(access.compact_length(part) <= access.MANAGED_POLICY_CHARACTERS for part in parts), role
        assert roles(graph)[role].inputs["maxSessionDuration"] == 7200


def test_a_policy_too_large_for_one_document_is_split_without_losing_a_statement():
    statement = {"Sid": "Big", "Effect": "Allow", "Action": ["s3:GetObject"],
                 "Resource": [f"arn:aws:s3:::bucket-{i:04d}/*" for i in range(400)]}  # fmt: skip
    documents = [json.loads(d) for d in access.policy_documents(json.dumps({"Statement": [statement]}))]
    assert len(documents) > 1
    assert all(access.compact_length(d) <= access.MANAGED_POLICY_CHARACTERS for d in documents)
    resources = [r for d in documents for s in d["Statement"] for r in s["Resource"]]
    assert resources == statement["Resource"]


def test_the_certificate_a_stack_file_names_is_protected_without_being_listed(graph):
    """prod's loadBalancer.certificateArn: no deploy role may tag, change or delete it."""
    named = access.stack_file_certificates(ROOT, "prod")
    assert named and named[0] == yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"][
        "lambda-alb:loadBalancer"]["certificateArn"]  # fmt: skip
    for role in ("ci-lambda-alb-deploy-dev", "ci-lambda-alb-deploy-prod", "ci-lambda-alb-review"):
        denied = next(s for s in policy_of(graph, role)["Statement"] if s["Sid"] == "KeepNamedCertificates")
        assert named[0] in denied["Resource"] and denied["Effect"] == "Deny", role


LOG_POLICY = "aws:cloudwatch/logResourcePolicy:LogResourcePolicy"


def test_changing_the_bootstrap_config_replaces_none_of_its_new_resources(graph):
    """The inputs that force a replacement (the Terraform provider's ForceNew): a KMS alias's name,
    a log resource policy's policy_name, a policy attachment's role and policy_arn. None of them
    depends on the zones, ACLs, certificates or state bucket, so changing those updates policies
    in place (a new version of each managed policy) and replaces nothing."""

    def keys(g) -> set[tuple[str, ...]]:
        return (
            {("alias", a.inputs["name"]) for a in g.of_type("aws:kms/alias:Alias")}
            | {("log policy", p.inputs["policyName"]) for p in g.of_type(LOG_POLICY)}
            | {("attachment", a.inputs["role"], a.inputs["policyArn"])
               for a in g.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
        )  # fmt: skip

    certificate = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/0000-prod-listener"
    changed = run(stateBucket="acme-pulumi-state", devHostedZoneId="Z0DEV1", prodCertificateArns=[certificate])
    assert keys(changed) == keys(graph) and len(keys(graph)) > 10
