"""Who may assume the pipeline's roles, and what each role may do. Plain Python (no pulumi import).

Four roles, one reader and one deployer per stack, each trusted by GitHub's OIDC provider for jobs of
one repository that run in one of the GitHub environments listed in ``ENVIRONMENTS``:

- ``preview-<stack>``: ``pulumi preview`` (and the drift check's ``--refresh``) of its stack; reads
  only, and in the state bucket writes nothing but its own stack's lock files.
- ``deploy-<stack>``: ``pulumi up`` of its stack, from ``main`` only; ``deploy-prod`` only from the
  ``prod`` environment, which asks a reviewer's approval.

Each stack's secrets (its passphrase or Pulumi token) live only in its own environments, so a job
reaches prod's secrets only through an environment that demands approval or runs on ``main``. The
OIDC subject names the environment and the git ref (the repository's subject template is
``repo``, ``context``, ``ref``): a deploy role trusts ``ref:refs/heads/main`` only.

A deploy role may change only its own stack's resources. Where a resource's ARN carries its name
(``<prefix>-<stack>...``), the policy names it; where it does not (security groups, ACM
certificates), it requires the ``stack`` tag: ``aws:RequestTag/stack`` when the resource is
created, ``aws:ResourceTag/stack`` afterwards, never ``...IfExists``; no role may remove the
``stack`` tag or set it to another stack. Where AWS offers a condition key that pins a request to
the stack (the alarm's actions, the WAF log destination, the certificate's domain names, the role's
permissions boundary), the policy uses it. KMS keys, the function permissions boundaries and the
account's log resource policy for WAF come from the bootstrap, so no deploy role creates or
administers a key or a policy. The few actions AWS cannot scope at all are listed in
``UNSCOPABLE`` with the reason. The pipeline's own roles are named ``ci-<prefix>-...``, outside
every name a deploy role may touch.

The bootstrap's program (``__main__.py``) and the tests import everything from here; each part
lives in a module of its own, importing its siblings as the ``bootstrap`` package (``__main__.py``
puts the repository's folder on the path, as the policy pack's entry point does):

- ``scopes.py``: the stacks, the roles, and the names and ``stack`` tag conditions that scope them;
- ``trust.py``: the GitHub environments and each role's OIDC trust policy;
- ``stack_inputs.py``: the bootstrap's per-stack configuration and its checks;
- ``boundaries.py``: the function permissions boundary, the stack's KMS key policy, the WAF log
  resource policy;
- ``iam_actions.py``: the action lists (reads, tagging, ``UNSCOPABLE``, function-role changes);
- ``role_policies.py``: ``preview_policy``, ``deploy_policy`` and their packing into managed policies.
"""

from __future__ import annotations

from bootstrap.boundaries import (
    function_boundary_policy,
    stack_key_policy,
    waf_log_resource_policy,
)
from bootstrap.iam_actions import (
    CERTIFICATE_CHANGES,
    FUNCTION_READ_ACTIONS,
    FUNCTION_ROLE_ACTIONS,
    FUNCTION_ROLE_TAGGING,
    READ_ACTIONS,
    TAGGING_ACTIONS,
    UNSCOPABLE,
)
from bootstrap.role_policies import (
    MANAGED_POLICIES_PER_ROLE,
    MANAGED_POLICY_CHARACTERS,
    compact_length,
    deploy_policy,
    policy_documents,
    preview_policy,
    state_paths,
)
from bootstrap.scopes import (
    PROJECT_TAG,
    REVIEW,
    REVIEW_STACKS,
    ROLES,
    STACK_TAG,
    STACKS,
    Statement,
    boundary_name,
    child_names,
    exact_names,
    key_alias,
    role_name,
    service_name,
    stack_condition,
    stack_values,
)
from bootstrap.stack_inputs import (
    StackInputs,
    check_inputs,
    stack_file_certificates,
)
from bootstrap.trust import (
    AUDIENCE,
    ENVIRONMENTS,
    GITHUB_OIDC_HOST,
    GITHUB_OIDC_URL,
    MAIN,
    SUBJECT_CLAIMS,
    Environment,
    subject,
    subjects,
    trust_policy,
)

__all__ = [
    "function_boundary_policy",
    "stack_key_policy",
    "waf_log_resource_policy",
    "CERTIFICATE_CHANGES",
    "FUNCTION_READ_ACTIONS",
    "FUNCTION_ROLE_ACTIONS",
    "FUNCTION_ROLE_TAGGING",
    "READ_ACTIONS",
    "TAGGING_ACTIONS",
    "UNSCOPABLE",
    "MANAGED_POLICIES_PER_ROLE",
    "MANAGED_POLICY_CHARACTERS",
    "compact_length",
    "deploy_policy",
    "policy_documents",
    "preview_policy",
    "state_paths",
    "PROJECT_TAG",
    "REVIEW",
    "REVIEW_STACKS",
    "ROLES",
    "STACK_TAG",
    "STACKS",
    "Statement",
    "boundary_name",
    "child_names",
    "exact_names",
    "key_alias",
    "role_name",
    "service_name",
    "stack_condition",
    "stack_values",
    "StackInputs",
    "check_inputs",
    "stack_file_certificates",
    "AUDIENCE",
    "ENVIRONMENTS",
    "GITHUB_OIDC_HOST",
    "GITHUB_OIDC_URL",
    "MAIN",
    "SUBJECT_CLAIMS",
    "Environment",
    "subject",
    "subjects",
    "trust_policy",
]
