"""Bootstrap: the GitHub OIDC provider and, per stack, its KMS key, its function permissions boundary,
its preview role and its deploy role; the account's log resource policy for WAF. Run once per
account, by an administrator.

What each role may do, and why, is in ``access.py`` (and the modules it gathers) and
docs/delivery.md; tests/test_permissions.py checks the policies against every call the provider
makes for each stack, and tests/test_attacks.py tries the paths from one stack, or a pull request,
to the other.
"""

import json
import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws

# The CLI runs this file from the bootstrap's folder; its modules import as the `bootstrap` package
# (as the policy pack's do as `policy`), which is how the tests import them too.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bootstrap.access import (  # noqa: E402
    AUDIENCE,
    GITHUB_OIDC_URL,
    REVIEW,
    ROLES,
    STACKS,
    StackInputs,
    boundary_name,
    check_inputs,
    deploy_policy,
    function_boundary_policy,
    key_alias,
    policy_documents,
    preview_policy,
    role_name,
    stack_file_certificates,
    stack_key_policy,
    trust_policy,
    waf_log_resource_policy,
)

config = pulumi.Config()
repository = config.require("githubRepository")
prefix = config.get("projectPrefix") or "lambda-alb"
state_bucket = config.get("stateBucket") or ""
# Per stack: its hosted zone (without one its deploy role may change no DNS record and request no
# certificate), the shared web ACLs it may use, and the certificates it uses but does not create.
given = {
    stack: StackInputs(
        hosted_zone_id=config.get(f"{stack}HostedZoneId") or "",
        web_acl_arns=tuple(config.get_object(f"{stack}WebAclArns") or ()),
        certificate_arns=tuple(config.get_object(f"{stack}CertificateArns") or ()),
    )
    for stack in STACKS
}
problems = check_inputs(repository, prefix, state_bucket, given)
if problems:
    raise pulumi.RunError("bootstrap configuration:\n" + "\n".join(f"  - {p}" for p in problems))
# A certificate may be requested for names in the stack's own zone only.
inputs = {
    stack: StackInputs(
        hosted_zone_id=values.hosted_zone_id,
        zone_name=aws.route53.get_zone(zone_id=values.hosted_zone_id).name if values.hosted_zone_id else "",
        web_acl_arns=values.web_acl_arns,
        certificate_arns=values.certificate_arns,
    )
    for stack, values in given.items()
}
# Every certificate a stack file names (loadBalancer.certificateArn) is protected too, listed or not.
protected_certificates = tuple(
    sorted(
        {arn for values in inputs.values() for arn in values.certificate_arns}
        | {arn for stack in STACKS for arn in stack_file_certificates(Path(__file__).parent.parent, stack)}
    )
)

if config.get_bool("createOidcProvider") is not False:
    provider_arn = aws.iam.OpenIdConnectProvider("github-oidc", url=GITHUB_OIDC_URL, client_id_lists=[AUDIENCE]).arn
else:
    provider_arn = aws.iam.get_open_id_connect_provider(url=GITHUB_OIDC_URL).arn

account = aws.get_caller_identity().account_id

# WAF delivers logs to the project's aws-waf-logs-<prefix>-* groups under this account-wide policy,
# so no deploy role needs logs:PutResourcePolicy.
aws.cloudwatch.LogResourcePolicy(
    f"{prefix}-waf-log-delivery",
    policy_name=f"{prefix}-waf-log-delivery",
    policy_document=waf_log_resource_policy(account, prefix),
)

keys: dict[str, aws.kms.Key] = {}
boundaries: dict[str, aws.iam.Policy] = {}
for stack in STACKS:
    # The stack's key: its functions' variables (function.kmsKeyArn) and its alarm topic
    # (monitoring.kmsKeyArn). Only the stack's deploy role and its functions may use it.
    keys[stack] = aws.kms.Key(
        f"{prefix}-{stack}-key",
        description=f"{prefix} {stack}: function variables and alarm notifications",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=stack_key_policy(account),
        tags={"project": prefix, "stack": stack, "managed-by": "pulumi"},
    )
    aws.kms.Alias(f"{prefix}-{stack}-key-alias", name=key_alias(prefix, stack), target_key_id=keys[stack].key_id)
    # Every function role of the stack must carry this boundary (function.permissionsBoundary).
    boundaries[stack] = aws.iam.Policy(
        boundary_name(prefix, stack),
        name=boundary_name(prefix, stack),
        description=f"The most a {prefix} {stack} function role may do",
        policy=keys[stack].arn.apply(lambda arn, stack=stack: function_boundary_policy(account, prefix, stack, arn)),
    )
    pulumi.export(f"{stack}KeyArn", keys[stack].arn)
    pulumi.export(f"{stack}FunctionBoundaryArn", boundaries[stack].arn)

# Review stacks (pr<number>): one boundary for all of them; no key (the template holds no secret).
boundaries[REVIEW] = aws.iam.Policy(
    boundary_name(prefix, REVIEW),
    name=boundary_name(prefix, REVIEW),
    description=f"The most a {prefix} review stack's function role may do",
    policy=function_boundary_policy(account, prefix, REVIEW),
)
pulumi.export("reviewFunctionBoundaryArn", boundaries[REVIEW].arn)


def policy_for(kind: str) -> pulumi.Output[str]:
    """The whole policy of one role (attached in parts below): reads of its stack for a preview role,
    its stack (or the review stacks) for a deploy role."""
    stack = ROLES[kind]
    if kind.startswith("preview-"):
        return pulumi.Output.from_input(preview_policy(account, prefix, stack, state_bucket))
    if stack == REVIEW:
        return boundaries[REVIEW].arn.apply(
            lambda arn: deploy_policy(
                account, prefix, REVIEW, arn, "", state_bucket, StackInputs(), protected_certificates
            )
        )
    return pulumi.Output.all(boundaries[stack].arn, keys[stack].arn).apply(
        lambda arns: deploy_policy(
            account,
            prefix,
            stack,
            arns[0],
            arns[1],
            state_bucket,
            inputs[stack],
            protected_certificates,
            tuple(values.zone_name for other, values in inputs.items() if other != stack),
        )
    )


# Resources must be known before the policies' text is: the number of parts per role is fixed by
# the role's kind (the largest document the tests render, with room to grow).
POLICY_PARTS = {"preview": 1, "deploy": 4, REVIEW: 8}
# What a part with no statement left holds: a call that needs no permission anyway.
EMPTY_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "Unused", "Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}],
    }
)


def parts(kind: str, documents: list[str]) -> list[str]:
    """Exactly ``policy_count(kind)`` documents; more statements than fit is an error, not a loss."""
    count = policy_count(kind)
    if len(documents) > count:
        raise pulumi.RunError(
            f"the {kind} role's policy needs {len(documents)} managed policies of at most 6,144 characters, "
            f"more than the {count} the bootstrap attaches; raise POLICY_PARTS in bootstrap/__main__.py"
        )
    return documents + [EMPTY_POLICY] * (count - len(documents))


def policy_count(kind: str) -> int:
    return POLICY_PARTS[kind if kind == REVIEW else kind.split("-")[0]]


def export_name(kind: str) -> str:
    """``preview-dev`` -> ``previewDevRoleArn``, ``review`` -> ``reviewRoleArn``: the value each
    environment's AWS_ROLE_ARN takes."""
    words = kind.split("-")
    return words[0] + "".join(word.title() for word in words[1:]) + "RoleArn"


for kind in ROLES:
    role = aws.iam.Role(
        role_name(prefix, kind),
        name=role_name(prefix, kind),
        description=f"GitHub Actions ({kind}) for {repository}",
        assume_role_policy=pulumi.Output.from_input(provider_arn).apply(
            lambda arn, kind=kind: trust_policy(arn, repository, kind)
        ),
        # Two hours: a deploy may wait 50 minutes for Lambda to release a VPC function's security group.
        max_session_duration=7200,
    )
    # Managed policies, as many as the role's statements need: one inline policy would pass IAM's
    # 10,240 characters (tests/test_bootstrap.py renders every role and checks the quotas).
    documents = policy_for(kind).apply(lambda text, kind=kind: parts(kind, policy_documents(text)))
    for index in range(policy_count(kind)):
        policy = aws.iam.Policy(
            f"{role_name(prefix, kind)}-{index + 1}",
            name=f"{role_name(prefix, kind)}-{index + 1}",
            description=f"GitHub Actions ({kind}), part {index + 1}",
            policy=documents.apply(lambda docs, index=index: docs[index]),
        )
        aws.iam.RolePolicyAttachment(f"{role_name(prefix, kind)}-{index + 1}", role=role.name, policy_arn=policy.arn)
    pulumi.export(export_name(kind), role.arn)
