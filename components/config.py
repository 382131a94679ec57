"""Read and validate the stack's configuration inside a Pulumi program.

Values come through ``pulumi.Config`` (so ``pulumi config set --path`` and CI overrides work);
every key the runtime was given in the project's namespace is enumerated so that a typo is an
error, not silently ignored. All problems are raised together as one ``pulumi.RunError``, which
``pulumi preview`` prints without a stack trace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from .limits import NAMESPACE, PLACEHOLDER_CERTIFICATE_ARN, known_str
from .model import CAMEL, fields
from .settings import (
    TOP_LEVEL_KEYS,
    FunctionArgs,
    LambdaAlbServiceArgs,
    SettingsError,
    parse_settings,
    target_group_problems,
)


def namespace_keys() -> list[str]:
    """Every configuration key (without namespace) the runtime was given for this project."""
    given = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    prefix = f"{NAMESPACE}:"
    return sorted(k[len(prefix) :] for k in given if k.startswith(prefix))


STRING_KEYS = frozenset(
    field.key(CAMEL)
    for field in fields(LambdaAlbServiceArgs)
    if field.kind and field.kind.schema().get("type") == "string"
)


def load_settings(project_dir: Path) -> LambdaAlbServiceArgs:
    """The validated settings of the current stack, or a ``pulumi.RunError`` naming each problem."""
    config = pulumi.Config(NAMESPACE)
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key in sorted(set(namespace_keys()) | set(TOP_LEVEL_KEYS)):
        if key not in TOP_LEVEL_KEYS:
            values[key] = None  # reported by parse_settings as unknown
            continue
        try:
            # A string key (serviceName) is plain text; the blocks are structured.
            value = config.get(key) if key in STRING_KEYS else config.get_object(key)
        except pulumi.ConfigTypeError:
            raw = config.get(key)
            problems.append(
                f"{key}: {raw!r} is not structured configuration; set it in Pulumi.<stack>.yaml "
                f"or with pulumi config set --path '{key}.<field>' <value>"
            )
            continue
        if value is not None:
            values[key] = value
    secret_keys = [key for key in values if runtime_config.is_config_secret(f"{NAMESPACE}:{key}")]
    problems.extend(_secret_problems(secret_keys))
    settings = None
    try:
        settings = parse_settings(values, project_dir)
    except SettingsError as exc:
        problems.extend(exc.problems)
    if settings is not None:
        problems.extend(_certificate_problems(settings))
        service = settings.service_name or f"{pulumi.get_project()}-{pulumi.get_stack()}"
        problems.extend(target_group_problems(service, settings.functions, CAMEL))
        problems.extend(_unencrypted_secret_problems(settings, secret_keys))
        if "function" in secret_keys:
            settings = settings.model_copy(update={"function": _with_secret_environment(settings.function)})
        if "functions" in secret_keys:
            secret_functions = {key: _with_secret_environment(fn) for key, fn in settings.functions.items()}
            settings = settings.model_copy(update={"functions": secret_functions})
    if problems or settings is None:
        stack = pulumi.get_stack()
        listing = "\n".join(f"  - {p}" for p in problems)
        raise pulumi.RunError(
            f"{len(problems)} problem(s) in the {NAMESPACE} configuration of stack '{stack}':\n{listing}"
        )
    return settings


# The CLI tells a program only which top-level keys hold a secret somewhere inside. The function's
# environment is where secrets belong, and it is passed on as a secret; a secret anywhere else would
# end up in clear in resource inputs, so it is refused.
SECRET_CAPABLE_KEYS = ("function", "functions")


def _with_secret_environment(function: FunctionArgs) -> FunctionArgs:
    """Secret Outputs from here on: encrypted in the state, [secret] in every preview."""
    secret_env = {key: pulumi.Output.secret(value) for key, value in function.environment.items()}
    # The plain settings model types values as str; on the Pulumi side an Output is as good.
    return function.model_copy(update={"environment": secret_env})


def _secret_problems(secret_keys: list[str]) -> list[str]:
    return [
        f"{key}: holds a secret value; only function.environment values may be secret (they reach the "
        f"function encrypted). Set this value in clear, or move the secret into function.environment"
        for key in secret_keys
        if key not in SECRET_CAPABLE_KEYS
    ]


def _unencrypted_secret_problems(settings: LambdaAlbServiceArgs, secret_keys: list[str]) -> list[str]:
    """A secret variable needs the function's own customer-managed key: with Lambda's AWS-managed
    key, anyone allowed lambda:GetFunctionConfiguration (a preview role) reads it in clear."""
    holders = {"function": settings.function} if "function" in secret_keys else {}
    if "functions" in secret_keys:
        holders |= {f"functions.{key}": function for key, function in settings.functions.items()}
    return [
        f"{path}.environment: holds a secret value, but {path}.kmsKeyArn is unset; set it to a customer-managed "
        "KMS key (the bootstrap's devKeyArn or prodKeyArn output), so that only the function and this stack's "
        "deploy role can read the value"
        for path, function in holders.items()
        if function.environment and function.kms_key_arn is None
    ]


def _certificate_problems(settings: LambdaAlbServiceArgs) -> list[str]:
    """The certificate must be in the stack's region, and the documented placeholder may be
    previewed but never deployed (the HTTPS listener would fail after the load balancer exists)."""
    arn = settings.load_balancer.certificate_arn
    if arn is None:
        return []
    key = "loadBalancer.certificateArn"
    if arn == PLACEHOLDER_CERTIFICATE_ARN:
        message = (
            f"{key}: still the placeholder from Pulumi.<stack>.yaml; replace it with an ACM certificate "
            "issued in this stack's region for your domain"
        )
        if pulumi.runtime.is_dry_run():
            pulumi.log.warn(f"{message} before `pulumi up`")
            return []
        return [message]
    region = pulumi.Config("aws").get("region")
    cert_region = known_str(arn).split(":")[3]  # from the stack file: a string
    if region and cert_region and cert_region != region:
        return [f"{key}: {arn!r} is in {cert_region}; a load balancer in {region} needs a certificate from {region}"]
    return []
