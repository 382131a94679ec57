"""Who may assume the pipeline's roles: GitHub's OIDC tokens for one repository, in the GitHub
environments listed in ``ENVIRONMENTS``, on the refs each environment allows. Plain Python."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bootstrap.scopes import REVIEW, ROLES

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
# The claims the repository's OIDC subject template includes, in order (docs/delivery.md shows the
# one-time `gh api` call): the subject then reads repo:<owner>/<name>:environment:<env>:ref:<ref>.
SUBJECT_CLAIMS = ("repo", "context", "ref")
MAIN = "refs/heads/main"


@dataclass(frozen=True)
class Environment:
    """A GitHub environment: the role its jobs assume, the stack whose secrets it holds, and the
    protection an administrator gives it (docs/delivery.md)."""

    name: str
    role: str
    main_only: bool  # deployment branches: main only (else any branch, pull requests included)
    reviewers: bool  # required reviewers approve each job
    pull_requests_and_main: bool = False  # trusted for pull requests' refs and main only

    @property
    def stack(self) -> str:
        return ROLES[self.role]

    @property
    def refs(self) -> tuple[str, ...]:
        """The refs in the OIDC subject of its jobs: main, pull requests and main, or any."""
        if self.pull_requests_and_main:
            return ("refs/pull/*", MAIN)
        return (MAIN,) if self.main_only else ("*",)


ENVIRONMENTS = (
    Environment("dev-preview", "preview-dev", main_only=False, reviewers=False),
    Environment("dev", "deploy-dev", main_only=True, reviewers=False),
    Environment("prod-preview", "preview-prod", main_only=False, reviewers=True),
    Environment("prod-read", "preview-prod", main_only=True, reviewers=False),
    Environment("prod", "deploy-prod", main_only=True, reviewers=True),
    # Review stacks: deployed from pull requests of this repository (forks get no token), swept from main.
    Environment("review", REVIEW, main_only=False, reviewers=False, pull_requests_and_main=True),
)


def subject(repository: str, environment: str, ref: str) -> str:
    """The OIDC ``sub`` of a job in ``environment`` on ``ref``, under the repository's template."""
    return f"repo:{repository}:environment:{environment}:ref:{ref}"


def subjects(repository: str, kind: str) -> list[str]:
    """Every subject the role ``kind`` trusts: its environments' jobs, on main where the
    environment is main-only."""
    return [subject(repository, e.name, ref) for e in ENVIRONMENTS if e.role == kind for ref in e.refs]


def trust_policy(provider_arn: str, repository: str, kind: str) -> str:
    """Only GitHub's OIDC tokens for ``repository`` and the role's environments, for AWS STS."""
    allowed = subjects(repository, kind)
    operator = "StringLike" if any("*" in s for s in allowed) else "StringEquals"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": AUDIENCE},
                        operator: {f"{GITHUB_OIDC_HOST}:sub": allowed[0] if len(allowed) == 1 else allowed},
                    },
                }
            ],
        },
        sort_keys=True,
    )
