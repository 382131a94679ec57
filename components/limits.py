"""What AWS and the component allow: every default, range, pattern and value check of the settings,
named once so that the blocks, the readers, the docs and the local ALB agree. Plain Python."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .waf_rules import HOSTING_PROVIDER_RULE, MANAGED_RULE_GROUPS

__all__ = ["HOSTING_PROVIDER_RULE", "MANAGED_RULE_GROUPS"]

NAMESPACE = "lambda-alb"

# --- defaults (named so the README, Pulumi.yaml and the code agree) ---------------------------

# A key of `functions` (and what routes and default actions name): lower case, digits and dashes.
FUNCTION_KEY_PATTERN = r"^[a-z][a-z0-9-]*$"
DEFAULT_RUNTIME = "python3.13"
SUPPORTED_RUNTIMES = ("python3.12", "python3.13", "python3.14")
ARCHITECTURES = ("arm64", "x86_64")
DEFAULT_ARCHITECTURE = "arm64"
DEFAULT_MEMORY_MB = 256
MEMORY_RANGE_MB = (128, 10240)
DEFAULT_TIMEOUT_S = 10
TIMEOUT_RANGE_S = (1, 900)
TRACING_MODES = ("PassThrough", "Active")
DEFAULT_TRACING = "PassThrough"
DEFAULT_LOG_RETENTION_DAYS = 30
# The values CloudWatch Logs accepts for retentionInDays (0, "never expire", is refused here).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
DEFAULT_CODE_DIR = "function"
DEFAULT_HANDLER = "app.handler"
# Lambda sets these itself and refuses them in a function's environment.
RESERVED_ENV_KEYS = frozenset(
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    }
)  # fmt: skip
MAX_ENV_BYTES = 4096
ENV_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]+$")  # Lambda: at least two characters
HANDLER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")

DEFAULT_ALLOWED_CIDRS = ("0.0.0.0/0",)
DEFAULT_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# The TLS 1.3 policies that also refuse TLS 1.0/1.1 (docs/security.md: ELB.17).
SSL_POLICIES = (
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
)
# The documented placeholder in Pulumi.prod.yaml: previews work with it, deploys refuse it.
PLACEHOLDER_CERTIFICATE_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
DESYNC_MODES = ("defensive", "strictest")
DEFAULT_DESYNC_MODE = "defensive"
DEFAULT_IDLE_TIMEOUT_S = 60
IDLE_TIMEOUT_RANGE_S = (1, 4000)
MAX_SG_RULES = 60  # inbound rules per security group (default quota)
MAX_ROUTES = 100  # rules per load balancer (default quota)
VPC_RE = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")
SUBNET_RE = re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$")
CERT_ARN_RE = re.compile(
    r"^arn:aws(-[a-z]+)*:(acm|iam):[a-z0-9-]*:\d{12}:(certificate/[A-Za-z0-9-]+|server-certificate/.+)$"
)

# Target-group health-check defaults and ranges for Lambda targets (docs/alb-behaviour.md#health-checks).
HEALTH_INTERVAL_RANGE_S = (5, 300)
HEALTH_TIMEOUT_RANGE_S = (2, 120)
HEALTH_THRESHOLD_RANGE = (2, 10)
MATCHER_RE = re.compile(r"^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$")

DEFAULT_WAF_RATE_LIMIT = 2000
WAF_RATE_LIMIT_RANGE = (10, 2_000_000_000)  # AWS's minimum and maximum per 5-minute window
# A customer-managed KMS key by its ARN (an alias would let the key behind it change unseen).
KMS_KEY_ARN_RE = re.compile(r"^arn:aws(-[a-z]+)*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
KMS_KEY_ALLOWED = "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)"
WEB_ACL_ARN_RE = re.compile(r"^arn:aws(-[a-z]+)*:wafv2:[a-z0-9-]+:\d{12}:regional/webacl/[\w-]+/[\w-]+$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
VERSION_RE = re.compile(r"^[1-9][0-9]*$")
POLICY_ARN_RE = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:policy/[\w+=,.@/-]+$")

# Tags: what AWS allows on a resource, and the keys the component sets itself.
MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
TAG_RE = re.compile(r"^[\w .:/=+\-@]*$")  # letters (any script), digits, spaces and _ . : / = + - @
OWN_TAG_KEYS = ("project", "stack", "managed-by")

# WAF: what a managed rule may be overridden to, and the rule names of the groups the web ACL uses
# (docs/security.md lists their source).
WAF_RULE_ACTIONS = ("count", "block", "allow", "challenge", "captcha")

DEFAULT_LOG_PREFIX = "alb"
DEFAULT_LOG_EXPIRATION_DAYS = 90
PREFIX_RE = re.compile(r"^[A-Za-z0-9!_.*'()/-]*$")


def known(values: Any) -> tuple[str, ...]:
    """Strings a check has found known (no Output among them), typed as what they are."""
    return tuple(values)


def known_str(value: Any) -> str:
    """A string a check has found known (not an Output), typed as what it is."""
    return str(value)


# --- checks and hand-read settings ------------------------------------------------------------


def must_match(regex: re.Pattern[str], what: str) -> Callable[[Any], str | None]:
    """A string check: the problem tail when ``regex`` does not match."""
    return lambda value: None if regex.match(value) else f"is not {what}"


def each_must_match(regex: re.Pattern[str], what: str) -> Callable[[Any], str | None]:
    """A list-item check: the whole problem (items are named by index)."""
    return lambda value: None if regex.match(value) else f"{value!r} is not {what}"


def health_path_problem(value: str) -> str | None:
    return None if value.startswith("/") and len(value) <= 1024 else "must start with / (at most 1024 characters)"


def matcher_problem(value: str) -> str | None:
    if not MATCHER_RE.match(value):
        return "is not a matcher; use codes or ranges such as 200, 200,204 or 200-299"
    codes = [int(c) for c in re.split(r"[,-]", value)]
    if any(not 200 <= c <= 499 for c in codes):
        return "has codes outside 200-499, which is what Lambda targets allow"
    return None


SG_RE = re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$")
FUNCTION_KEY_RE = re.compile(FUNCTION_KEY_PATTERN)
