"""Bootstrap: the GitHub OIDC provider, the function permissions boundary and the pipeline's three
roles (preview, deploy-dev, deploy-prod). Run once per account, by an administrator.

What each role may do, and why, is in ``access.py`` and docs/delivery.md; tests/test_permissions.py
checks the policies against every call the provider makes for each stack.
"""

import pulumi
import pulumi_aws as aws
from access import (
    AUDIENCE,
    GITHUB_OIDC_URL,
    STACKS,
    SUBJECTS,
    boundary_name,
    check_inputs,
    deploy_policy,
    function_boundary_policy,
    preview_policy,
    role_name,
    trust_policy,
)

config = pulumi.Config()
repository = config.require("githubRepository")
prefix = config.get("projectPrefix") or "lambda-alb"
state_bucket = config.get("stateBucket") or ""
# Without a stack's zone its deploy role may change no DNS record (no custom domain for it).
hosted_zones = {stack: config.get(f"{stack}HostedZoneId") or "" for stack in STACKS.values()}
problems = check_inputs(repository, prefix, state_bucket, hosted_zones)
if problems:
    raise pulumi.RunError("bootstrap configuration:\n" + "\n".join(f"  - {p}" for p in problems))

if config.get_bool("createOidcProvider") is not False:
    provider_arn = aws.iam.OpenIdConnectProvider("github-oidc", url=GITHUB_OIDC_URL, client_id_lists=[AUDIENCE]).arn
else:
    provider_arn = aws.iam.get_open_id_connect_provider(url=GITHUB_OIDC_URL).arn

account = aws.get_caller_identity().account_id
# Every function role the pipeline creates must carry this boundary (function.permissionsBoundary).
boundary = aws.iam.Policy(
    boundary_name(prefix),
    name=boundary_name(prefix),
    description="The most a lambda-alb function role may do: write its logs and traces",
    policy=function_boundary_policy(prefix),
)


def policy_for(kind: str) -> pulumi.Output[str]:
    """The inline policy of one role: read-only for preview, its own stack for a deploy role."""
    if kind == "preview":
        return pulumi.Output.from_input(preview_policy(account, prefix, state_bucket))
    stack = STACKS[kind]
    return boundary.arn.apply(lambda arn: deploy_policy(account, prefix, stack, arn, state_bucket, hosted_zones[stack]))


# The repository variables the workflows read, one per role.
EXPORTS = {"preview": "previewRoleArn", "deploy-dev": "deployDevRoleArn", "deploy-prod": "deployProdRoleArn"}
for kind in SUBJECTS:
    role = aws.iam.Role(
        role_name(prefix, kind),
        name=role_name(prefix, kind),
        description=f"GitHub Actions ({kind}) for {repository}",
        assume_role_policy=pulumi.Output.from_input(provider_arn).apply(
            lambda arn, kind=kind: trust_policy(arn, repository, kind)
        ),
        max_session_duration=3600,
    )
    aws.iam.RolePolicy(
        f"{role_name(prefix, kind)}-permissions",
        role=role.id,
        policy=policy_for(kind),
    )
    pulumi.export(EXPORTS[kind], role.arn)
pulumi.export("functionBoundaryArn", boundary.arn)
