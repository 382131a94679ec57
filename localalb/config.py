"""What the local ALB needs from a stack: read through the Pulumi program's own settings code."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.limits import NAMESPACE
from components.naming import name_problem, service_name
from components.settings import FunctionArgs, LambdaAlbServiceArgs, SettingsError, parse_settings
from components.stackfiles import StackFileError, stack_config

DEFAULT_REGION = "us-east-1"
LOCAL_ACCOUNT = "123456789012"


class LocalConfigError(Exception):
    """The stack cannot be served: the message lists every problem."""


@dataclass(frozen=True)
class LocalFunction:
    """One function of a stack as the local ALB runs it, named as the deployed one is."""

    key: str | None  # its key under `functions`; None for the one `function`
    name: str
    settings: FunctionArgs
    code_dir: Path
    region: str

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT}:function:{self.name}"

    @property
    def target_group_arn(self) -> str:
        group = f"targetgroup/{self.name[:24]}-tg/5e1c0a1b2c3d4e5f"
        return f"arn:aws:elasticloadbalancing:{self.region}:{LOCAL_ACCOUNT}:{group}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.name}"


@dataclass(frozen=True)
class LocalStack:
    """A stack as the local ALB serves it."""

    project_dir: Path
    stack: str
    settings: LambdaAlbServiceArgs
    region: str
    # Encrypted values of the stack file, each with where its local value came from.
    local_secrets: tuple[tuple[str, str], ...] = ()

    def functions(self) -> dict[str | None, LocalFunction]:
        """Every function behind the load balancer, by its key (None for the one `function`)."""
        return {
            key: LocalFunction(
                key,
                self.function_name if key is None else f"{self.function_name}-{key}",
                fn,
                self.project_dir / fn.code_dir,
                self.region,
            )
            for key, fn in self.settings.targets().items()
            if key not in self.settings.check_functions()  # a release's check is not behind the load balancer
        }

    def primary(self) -> LocalFunction:
        """The function the default action forwards to (the first when it does not forward)."""
        functions = self.functions()
        default = self.settings.load_balancer.default
        key = getattr(default, "function", None)
        return functions[key] if key in functions else next(iter(functions.values()))

    @property
    def function_name(self) -> str:
        return f"{NAMESPACE}-{self.stack}"

    @property
    def code_dir(self) -> Path:
        return self.primary().code_dir

    @property
    def target_group_arn(self) -> str:
        return self.primary().target_group_arn


ENVIRONMENT_SECRET = re.compile(
    rf"^{re.escape(NAMESPACE)}:(function|functions\.([a-z][a-z0-9-]*))\.environment\.(\w+)$"
)


def secrets_file(project_dir: Path, stack: str) -> Path:
    """Where local values of a stack's secrets may be kept: under .localalb/, which git ignores."""
    return project_dir / ".localalb" / stack / "secrets.yaml"


def _local_secret_values(
    project_dir: Path, stack: str, skipped: list[str], environ: Mapping[str, str]
) -> tuple[dict[str | None, dict[str, str]], list[tuple[str, str]], list[str]]:
    """Local values for the stack's encrypted values, which only the Pulumi CLI can decrypt.

    A secret of the function's environment takes the shell's variable of the same name, else the
    entry ``function.environment.<NAME>`` of the secrets file. Returns (values by variable name,
    (key, source) pairs, problems); a secret with no local value is a problem, never the ciphertext.
    """
    path = secrets_file(project_dir, stack)
    relative = path.relative_to(project_dir)
    values: dict[str | None, dict[str, str]] = {}
    sources: list[tuple[str, str]] = []
    problems: list[str] = []
    from_file: dict[str, Any] = {}
    if path.is_file():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            line = f" at line {where.line + 1}" if where is not None else ""
            loaded = {}
            problems.append(
                f"{relative}: not valid YAML{line}; write one 'function.environment.<NAME>: <value>' a line"
            )
        if isinstance(loaded, dict):
            from_file = loaded
        else:
            problems.append(
                f"{relative}: holds a {type(loaded).__name__}, not a map; write one "
                "'function.environment.<NAME>: <value>' a line (dotted keys, not nested blocks)"
            )
    for key in skipped:
        short = key.removeprefix(f"{NAMESPACE}:")
        match = ENVIRONMENT_SECRET.match(key)
        if match is None:
            problems.append(
                f"{short}: a secret; only function.environment values may be secret (anywhere else the "
                "value would reach AWS in clear). Set this value in clear, or move the secret into "
                "function.environment"
            )
            continue
        function, name = match.group(2), match.group(3)
        if name in environ:
            values.setdefault(function, {})[name], source = environ[name], f"${name}"
        elif isinstance(from_file.get(short), str):
            values.setdefault(function, {})[name], source = from_file[short], str(relative)
        else:
            problems.append(
                f"{short}: a secret only the Pulumi CLI can decrypt; give its local value in the environment "
                f"variable {name}, or in {relative} (git-ignored) as '{short}: <value>'"
            )
            continue
        sources.append((short, source))
    return values, sources, problems


def load_stack(project_dir: Path, stack: str, environ: Mapping[str, str] | None = None) -> LocalStack:
    """Read ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml`` and validate them as ``pulumi up`` would.

    Encrypted values get their local values from ``environ`` (the shell's, by default) or the
    stack's local secrets file; one that has none stops the server before it starts.
    """
    skipped: list[str] = []
    try:
        values = stack_config(project_dir, stack, skipped)
    except StackFileError as exc:
        raise LocalConfigError(str(exc)) from None
    # A stack named after itself must be a valid name; a pinned serviceName is checked as a setting.
    problem = name_problem(service_name(stack, NAMESPACE))
    if problem is not None and not values.get(f"{NAMESPACE}:serviceName"):
        raise LocalConfigError(f"stack name {stack!r} is refused by `pulumi up`: {problem}")
    secrets, sources, secret_problems = _local_secret_values(
        project_dir, stack, skipped, os.environ if environ is None else environ
    )
    if secret_problems:
        listing = "\n".join(f"  - {p}" for p in secret_problems)
        raise LocalConfigError(
            f"{len(secret_problems)} problem(s) with the local values of stack '{stack}'s secrets:\n{listing}"
        )
    prefix = f"{NAMESPACE}:"
    ours = {key[len(prefix) :]: value for key, value in values.items() if key.startswith(prefix)}
    for function_key, secret_values in secrets.items():
        if function_key is None:
            block = dict(ours.get("function") or {})
            block["environment"] = {**(block.get("environment") or {}), **secret_values}
            ours["function"] = block
        else:
            functions = dict(ours.get("functions") or {})
            block = dict(functions.get(function_key) or {})
            block["environment"] = {**(block.get("environment") or {}), **secret_values}
            functions[function_key] = block
            ours["functions"] = functions
    try:
        settings = parse_settings(ours, project_dir)
    except SettingsError as exc:
        listing = "\n".join(f"  - {p}" for p in exc.problems)
        raise LocalConfigError(
            f"{len(exc.problems)} problem(s) in the {NAMESPACE} configuration of stack '{stack}':\n{listing}"
        ) from None
    region = str(values.get("aws:region") or DEFAULT_REGION)
    return LocalStack(project_dir, stack, settings, region, tuple(sources))
