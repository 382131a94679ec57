"""What the local ALB needs from a stack: read through the Pulumi program's own settings code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from components.naming import name_problem, service_name
from components.settings import NAMESPACE, Settings, SettingsError, parse_settings
from components.stackfiles import StackFileError, stack_config

DEFAULT_REGION = "us-east-1"
LOCAL_ACCOUNT = "123456789012"


class LocalConfigError(Exception):
    """The stack cannot be served: the message lists every problem."""


@dataclass(frozen=True)
class LocalStack:
    """A stack as the local ALB serves it."""

    project_dir: Path
    stack: str
    settings: Settings
    region: str
    skipped_secrets: tuple[str, ...] = ()  # encrypted values only the Pulumi CLI can read

    @property
    def function_name(self) -> str:
        return f"{NAMESPACE}-{self.stack}"

    @property
    def code_dir(self) -> Path:
        return self.project_dir / self.settings.function.code_dir

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT}:function:{self.function_name}"

    @property
    def target_group_arn(self) -> str:
        return (
            f"arn:aws:elasticloadbalancing:{self.region}:{LOCAL_ACCOUNT}:"
            f"targetgroup/{self.function_name[:24]}-tg/5e1c0a1b2c3d4e5f"
        )

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"


def load_stack(project_dir: Path, stack: str) -> LocalStack:
    """Read ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml`` and validate them as ``pulumi up`` would."""
    problem = name_problem(service_name(stack, NAMESPACE))
    if problem is not None:
        raise LocalConfigError(f"stack name {stack!r} is refused by `pulumi up`: {problem}")
    skipped: list[str] = []
    # Secrets: stack_config leaves encrypted values out and lists them in `skipped`; how they are
    # reported (or decrypted) is decided by the caller (localalb/__main__.py).
    try:
        values = stack_config(project_dir, stack, skipped)
    except StackFileError as exc:
        raise LocalConfigError(str(exc)) from None
    prefix = f"{NAMESPACE}:"
    ours = {key[len(prefix) :]: value for key, value in values.items() if key.startswith(prefix)}
    try:
        settings = parse_settings(ours, project_dir)
    except SettingsError as exc:
        listing = "\n".join(f"  - {p}" for p in exc.problems)
        raise LocalConfigError(
            f"{len(exc.problems)} problem(s) in the {NAMESPACE} configuration of stack '{stack}':\n{listing}"
        ) from None
    region = str(values.get("aws:region") or DEFAULT_REGION)
    return LocalStack(project_dir, stack, settings, region, tuple(skipped))
