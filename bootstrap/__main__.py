"""Bootstrap: the GitHub OIDC provider and the pipeline's three roles. Run once per account."""

import pulumi
import pulumi_aws as aws
from access import (
    AUDIENCE,
    GITHUB_OIDC_URL,
    SUBJECTS,
    check_inputs,
    deploy_policy,
    preview_policy,
    role_name,
    trust_policy,
)

config = pulumi.Config()
repository = config.require("githubRepository")
prefix = config.get("projectPrefix") or "lambda-alb"
state_bucket = config.get("stateBucket") or ""
problems = check_inputs(repository, prefix, state_bucket)
if problems:
    raise pulumi.RunError("bootstrap configuration:\n" + "\n".join(f"  - {p}" for p in problems))

if config.get_bool("createOidcProvider") is not False:
    provider_arn = aws.iam.OpenIdConnectProvider("github-oidc", url=GITHUB_OIDC_URL, client_id_lists=[AUDIENCE]).arn
else:
    provider_arn = aws.iam.get_open_id_connect_provider(url=GITHUB_OIDC_URL).arn

account = aws.get_caller_identity().account_id
policies = {"preview": preview_policy, "deploy-dev": deploy_policy, "deploy-prod": deploy_policy}
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
        policy=policies[kind](account, prefix, state_bucket),
    )
    pulumi.export(EXPORTS[kind], role.arn)
