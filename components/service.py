"""``LambdaAlbService``: a Python Lambda function behind an Application Load Balancer."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pulumi
import pulumi_aws as aws

from . import rules as r
from .access_logs import create_access_log_bucket
from .domain import create_alias_record, create_certificate
from .lambda_function import FunctionParts, create_function, package_code, prune_versions
from .limits import OWN_TAG_KEYS
from .listener import ForwardTo, create_listeners, create_rules
from .live_guards import protected_replacements
from .model import SNAKE, as_raw, to_camel
from .monitoring import Observed, create_alarms, create_dashboard
from .naming import name_problem
from .network import create_security_group, resolve_network
from .releases import create_application, create_release
from .settings import (
    FunctionArgs,
    LambdaAlbServiceArgs,
    LoadBalancerArgs,
    read_settings,
    target_group_problems,
)
from .waf import create_waf

TYPE_TOKEN = "lambda-alb:components:LambdaAlbService"


def name_problems(name: object) -> list[str]:
    """The component's name also names the function, load balancer and target group (the rule the
    local ALB applies to stack names too: components/naming.py)."""
    if not isinstance(name, str):
        return [f"name: {name!r} is not a string"]
    problem = name_problem(name)
    return [f"name: {problem}"] if problem else []


def read_args(name: object, raw: Mapping[str, Any], project_dir: Path) -> tuple[LambdaAlbServiceArgs | None, list[str]]:
    """The component's arguments from their raw form (snake_case keys), checked with the rules and
    messages of the stack config. Values that are still Outputs are not judged."""
    problems = name_problems(name)
    checked, found = read_settings(raw, SNAKE, {"project_dir": project_dir, "unresolved": _is_unresolved})
    if isinstance(name, str) and checked is not None:
        found += target_group_problems(name, checked.functions, SNAKE)
    return checked, problems + found


def validate_args(
    name: object, args: LambdaAlbServiceArgs, project_dir: Path
) -> tuple[LambdaAlbServiceArgs | None, list[str]]:
    """The component's arguments as a program built them (paths in snake_case, as it wrote them)."""
    if not isinstance(args, LambdaAlbServiceArgs):
        return None, [*name_problems(name), f"args: {args!r} is not a LambdaAlbServiceArgs"]
    return read_args(name, as_raw(args, SNAKE), project_dir)


def problem_report(name: str, problems: list[str], what: str = "arguments") -> pulumi.RunError:
    """One error listing every problem (``pulumi preview`` prints it without a stack trace)."""
    listing = "\n".join(f"  - {p}" for p in problems)
    return pulumi.RunError(f"{len(problems)} problem(s) in the {what} of LambdaAlbService {name!r}:\n{listing}")


def _is_unresolved(value: object) -> bool:
    return isinstance(value, pulumi.Output | pulumi.Archive | pulumi.Asset)


class LambdaAlbService(pulumi.ComponentResource):
    """A Python Lambda function behind an Application Load Balancer, secure by default.

    ``LambdaAlbService(name, args, opts=None, *, project_dir=None)``: ``args`` is a
    ``LambdaAlbServiceArgs`` (``function``, ``load_balancer``, ``routes``, ``access_logs``,
    ``monitoring``, ``waf``, ``tags``; each field documented on its class). Every known value is
    checked before any child is registered, with the stack config's rules; all problems come back in
    one ``pulumi.RunError``. ``project_dir`` (a path or string, default the working directory) is
    where ``function.code_dir`` is found.

    Outputs (also the stack's exports, in camelCase): the ``pulumi.Output`` attributes below, each
    documented where it is declared; ``functions_output`` is exported as ``functions``.

    Children, to build on (an alarm, a rule, a policy of your own): ``load_balancer``,
    ``listeners`` (port 80 first), ``serving_listener`` (where routes go), ``security_group``,
    ``target_group``, ``function``, ``live_alias``, ``execution_role``, ``log_group`` (those of the
    function the default action forwards to), ``access_log_bucket`` (None when access logs are
    disabled), and ``functions``: every function's children by its key (``function`` for the one
    function), as ``ServiceFunction``.
    """

    # The outputs, each once: its type (the component package's too), its meaning and, when it is
    # not the attribute's camelCase, its export's name. The component registers them, __main__.py
    # exports them and the package declares them (components/provider.py): all from these lines.
    url: Annotated[pulumi.Output[str], Doc("The service's URL.")]
    alb_dns_name: Annotated[pulumi.Output[str], Doc("The load balancer's DNS name.")]
    alb_arn: Annotated[pulumi.Output[str], Doc("The load balancer's ARN.")]
    listener_arns: Annotated[pulumi.Output[list[str]], Doc("Every listener's ARN (port 80 first).")]
    target_group_arn: Annotated[pulumi.Output[str], Doc("The target group of the default action's function.")]
    function_name: Annotated[pulumi.Output[str], Doc("The default action's function.")]
    function_arn: Annotated[pulumi.Output[str], Doc("Its ARN.")]
    log_group_name: Annotated[pulumi.Output[str], Doc("Its log group.")]
    access_logs_bucket: Annotated[pulumi.Output[str] | None, Doc("The access-log bucket (none when logs are off).")]
    function_version: Annotated[pulumi.Output[str], Doc("Its newest published version.")]
    live_alias_arn: Annotated[pulumi.Output[str], Doc("Its live alias, what the load balancer invokes.")]
    web_acl_arn: Annotated[pulumi.Output[str] | None, Doc("The web ACL on the load balancer (with waf.enabled).")]
    alarm_topic_arn: Annotated[
        pulumi.Output[str] | None, Doc("The SNS topic the alarms notify (with monitoring.alarms).")
    ]
    dashboard_url: Annotated[pulumi.Output[str] | None, Doc("The CloudWatch dashboard (with monitoring.dashboard).")]
    functions_output: Annotated[
        pulumi.Output[dict[str, dict[str, str]]],
        Export("functions"),
        Doc("Per function: functionName, functionArn, liveAliasArn, logGroupName, targetGroupArn (none for a check)."),
    ]

    def __init__(
        self,
        name: str,
        args: LambdaAlbServiceArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        project_dir: str | Path | None = None,
    ) -> None:
        """See the class: ``name`` also names the function (``<name>``) and the load balancer."""
        project_dir = Path(project_dir) if project_dir is not None else Path.cwd()
        checked, problems = validate_args(name, args, project_dir)
        if problems or checked is None:
            raise problem_report(name, problems)
        args = checked
        component_name = name
        # Every child is named after the service: serviceName when it is pinned, else the component.
        name = args.service_name or name
        lb_settings = args.load_balancer
        # Every lookup goes to the provider the component was given, so that a component in another
        # region or account looks up that region's network, account and partition.
        invoke = pulumi.InvokeOptions(provider=aws_provider(opts))
        # Looked up before anything is registered: a missing default VPC, or subnets in one zone,
        # stop the program with nothing created.
        vpc_id, subnet_ids = resolve_network(lb_settings, invoke)
        # A replacement AWS would refuse half-way (a protected load balancer) stops here, with nothing created.
        tags = resource_tags(args.tags)
        if guarded := protected_replacements(name, lb_settings, tags, invoke):
            raise problem_report(component_name, guarded)
        targets = args.targets()
        packages = {
            key: package_code(function_base(name, naming_key(key, fargs)), fargs, project_dir)
            for key, fargs in targets.items()
        }
        super().__init__(TYPE_TOKEN, component_name, None, opts)
        self.tags = tags

        lb_dependencies: list[pulumi.Resource] = []
        access_logs, logs = None, None
        self.access_logs_bucket = None
        if args.access_logs.enabled:
            logs = create_access_log_bucket(name, args.access_logs, tags, invoke, self)
            # ALB checks that it can write to the bucket when logging is switched on.
            lb_dependencies = logs.dependencies
            access_logs = aws.lb.LoadBalancerAccessLogsArgs(
                bucket=logs.bucket.id, prefix=args.access_logs.prefix or None, enabled=True
            )
            self.access_logs_bucket = logs.bucket.id

        domain = None
        certificate_arn: pulumi.Input[str] | None = lb_settings.certificate_arn
        if lb_settings.domain_name and lb_settings.hosted_zone_name:  # the settings require both or neither
            domain = create_certificate(name, lb_settings.domain_name, lb_settings.hosted_zone_name, tags, invoke, self)
            certificate_arn = domain.certificate_arn

        security_group = create_security_group(name, lb_settings, vpc_id, tags, self)
        load_balancer = aws.lb.LoadBalancer(
            f"{name}-lb",
            load_balancer_type="application",
            internal=lb_settings.internal,
            subnets=subnet_ids,
            security_groups=[security_group.id],
            drop_invalid_header_fields=True,
            desync_mitigation_mode=lb_settings.desync_mitigation_mode,
            idle_timeout=lb_settings.idle_timeout,
            enable_deletion_protection=lb_settings.deletion_protection,
            access_logs=access_logs,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=lb_dependencies),
        )

        parts: dict[str | None, tuple[FunctionParts, aws.lb.TargetGroup]] = {}
        forwards: dict[str | None, ForwardTo] = {}
        # Functions of yours that run as a release's check: not behind the load balancer.
        check_keys = args.check_functions()
        checks: dict[str, FunctionParts] = {}
        for key, fargs in targets.items():
            base = function_base(name, naming_key(key, fargs))
            fn = create_function(base, base, fargs, packages[key], tags, invoke, self)
            if key in check_keys:
                checks[key] = fn
                continue
            target_group, registration = self._target(
                name, naming_key(key, fargs), fn.live, lb_settings, load_balancer, tags
            )
            parts[key] = (fn, target_group)
            forwards[key] = ForwardTo(((target_group.arn, 100),), (registration,))
        listeners = create_listeners(name, lb_settings, load_balancer, forwards, certificate_arn, tags, self)
        create_rules(name, args.rules, listeners.serving, forwards, tags, self)

        scheme = "https" if lb_settings.https else "http"
        if domain is not None:
            create_alias_record(name, domain, load_balancer, self)
            self.url = pulumi.Output.from_input(f"https://{domain.name}/")
        else:
            self.url = load_balancer.dns_name.apply(lambda dns: f"{scheme}://{dns}/")

        self.web_acl_arn = create_waf(name, args.waf, load_balancer, tags, invoke, self) if args.waf.enabled else None
        observed = [
            Observed(
                naming_key(key, targets[key]), targets[key], load_balancer.arn_suffix, target_group.arn_suffix,
                fn.function.name,
                # During a canary, and with releases, the alarms and the dashboard also watch the
                # newest version alone.
                fn.function.version if targets[key].canary_weight or targets[key].deployment else None,
            )
            for key, (fn, target_group) in parts.items()
        ]  # fmt: skip
        self.alarm_topic_arn = None
        watched: dict[str | None, list[pulumi.Output[str]]] = {}
        if args.monitoring.alarms:
            alarms = create_alarms(name, args.monitoring, observed, tags, invoke, self)
            self.alarm_topic_arn, watched = alarms.topic.arn, alarms.watched
        # Releases (function.deployment) once the alarms they watch exist; then each function's old
        # versions are pruned, after live has moved.
        releasing = any(fargs.deployment is not None for fargs in targets.values())
        application = create_application(name, tags, self) if releasing else None
        every: dict[str | None, FunctionParts] = {key: fn for key, (fn, _) in parts.items()}
        every.update(checks)
        for key, fn in every.items():
            label = naming_key(key, targets[key])
            base = function_base(name, label)
            after: list[pulumi.Resource] = []
            deployment = targets[key].deployment
            if application is not None and deployment is not None:
                own = {phase: checks[c.function] for phase, c in deployment.checks().items() if c.function}
                multi_value = lb_settings.multi_value_headers
                alarms_of = watched.get(label, [])
                release = create_release(base, targets[key], fn, application, alarms_of, own, multi_value, tags, self)
                after.append(release)
            prune_versions(base, targets[key], fn, self, after)
        self.dashboard_url = create_dashboard(name, observed, invoke, self) if args.monitoring.dashboard else None
        # The single-function outputs and attributes describe the function the default action
        # forwards to (with several, the first one when the default action does not forward).
        default = lb_settings.default
        primary = (
            default.function if isinstance(default, r.Forward) and default.function in parts else next(iter(parts))
        )
        fn, live_tg = parts[primary]
        self.alb_dns_name = load_balancer.dns_name
        self.alb_arn = load_balancer.arn
        self.listener_arns = pulumi.Output.all(*[listener.arn for listener in listeners.all])
        self.target_group_arn = live_tg.arn
        self.function_name = fn.function.name
        self.function_arn = fn.function.arn
        self.function_version = fn.function.version
        self.live_alias_arn = fn.live.arn
        self.log_group_name = fn.log_group.name
        # The children a caller builds on.
        self.load_balancer = load_balancer
        self.listeners = listeners.all
        self.serving_listener = listeners.serving
        self.security_group = security_group
        self.target_group = live_tg
        self.function = fn.function
        self.live_alias = fn.live
        self.execution_role = fn.role
        self.log_group = fn.log_group
        self.access_log_bucket = logs.bucket if logs is not None else None
        self.functions = {
            key or "function": ServiceFunction(fn.function, fn.live, target_group, fn.role, fn.log_group)
            for key, (fn, target_group) in parts.items()
        } | {key: ServiceFunction(fn.function, fn.live, None, fn.role, fn.log_group) for key, fn in checks.items()}
        summaries: dict[str, Any] = {key: child.summary() for key, child in self.functions.items()}
        self.functions_output = pulumi.Output.from_input(summaries)
        self.register_outputs({output.export: getattr(self, output.attribute) for output in outputs()})

    def _target(
        self,
        name: str,
        key: str | None,
        alias: aws.lambda_.Alias,
        lb_settings: LoadBalancerArgs,
        load_balancer: aws.lb.LoadBalancer,
        tags: dict[str, str],
    ) -> tuple[aws.lb.TargetGroup, aws.lb.TargetGroupAttachment]:
        """A target group for ``alias``, the permission to invoke that alias, and the registration.

        The one ``function``'s are ``<name>-tg``, ``-invoke``, ``-attach``; a function of ``functions``
        gets ``<name>-<key>`` (short, so the generated target-group name fits 32 characters).
        """
        child = pulumi.ResourceOptions(parent=self)
        prefix = name if key is None else f"{name}-{key}"
        target_group = aws.lb.TargetGroup(
            f"{name}-tg" if key is None else prefix,
            target_type="lambda",
            lambda_multi_value_headers_enabled=lb_settings.multi_value_headers,
            health_check=_health_check_args(lb_settings),
            tags=tags,
            # A target group serves one load balancer: a new load balancer (loadBalancer.internal
            # changed) gets new target groups, or its listeners could not forward to them.
            opts=pulumi.ResourceOptions(parent=self, replace_with=[load_balancer]),
        )
        permission = aws.lambda_.Permission(
            f"{prefix}-invoke",
            function=alias.function_name,
            qualifier=alias.name,
            action="lambda:InvokeFunction",
            principal="elasticloadbalancing.amazonaws.com",
            source_arn=target_group.arn,
            opts=child,
        )
        attachment = aws.lb.TargetGroupAttachment(
            f"{prefix}-attach",
            target_group_arn=target_group.arn,
            target_id=alias.arn,
            # Registration fails unless the load balancer may already invoke the alias
            # (docs/alb-behaviour.md#ordering-that-breaks-deployments); nothing in the data flow says so.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )
        return target_group, attachment


def naming_key(key: str | None, function: FunctionArgs) -> str | None:
    """The key a function's resources are named by: None (the one ``function``'s names) for the
    function block, and for the key of ``functions`` that keeps them (``keepsFunctionNames``)."""
    return None if function.keeps_function_names else key


def function_base(name: str, key: str | None) -> str:
    """A function's name and the prefix of its resources: the service's name for the one
    ``function``, ``<name>-<key>`` for each of ``functions``."""
    return name if key is None else f"{name}-{key}"


@dataclass(frozen=True)
class ServiceFunction:
    """One function's children, to build on: the function, its live alias, target group, role, logs."""

    function: aws.lambda_.Function
    live_alias: aws.lambda_.Alias
    target_group: aws.lb.TargetGroup | None  # None for a release's check, which is not behind the load balancer
    execution_role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup

    def summary(self) -> dict[str, pulumi.Output[str]]:
        """What the ``functions`` output says of it."""
        summary = {
            "functionName": self.function.name,
            "functionArn": self.function.arn,
            "liveAliasArn": self.live_alias.arn,
            "logGroupName": self.log_group.name,
        }
        return summary | ({"targetGroupArn": self.target_group.arn} if self.target_group is not None else {})


def resource_tags(own: Mapping[str, str]) -> dict[str, str]:
    """The tags of every taggable child: the team's own, then the project, the stack and the tool
    (which the settings refuse to override: the pipeline's roles are scoped by the stack tag)."""
    ours = dict(zip(OWN_TAG_KEYS, (pulumi.get_project(), pulumi.get_stack(), "pulumi"), strict=True))
    return {**own, **ours}


def aws_provider(opts: pulumi.ResourceOptions | None) -> pulumi.ProviderResource | None:
    """The AWS provider the component was given (``provider=`` or ``providers=``), if any."""
    if opts is None:
        return None
    if opts.provider is not None:
        return opts.provider
    providers = opts.providers
    if isinstance(providers, Mapping):
        return providers.get("aws")
    return next((p for p in providers or [] if getattr(p, "package", None) == "aws"), None)


def _health_check_args(lb_settings: LoadBalancerArgs) -> aws.lb.TargetGroupHealthCheckArgs:
    """Off unless configured: each health check of a Lambda target is a billed invocation."""
    check = lb_settings.health_check
    if not check.enabled:
        return aws.lb.TargetGroupHealthCheckArgs(enabled=False)
    return aws.lb.TargetGroupHealthCheckArgs(
        enabled=True,
        path=check.path,
        interval=check.interval,
        timeout=check.timeout,
        healthy_threshold=check.healthy_threshold,
        unhealthy_threshold=check.unhealthy_threshold,
        matcher=check.matcher,
    )


@dataclass(frozen=True)
class Export:
    """An output exported under another name than its attribute's camelCase."""

    name: str


@dataclass(frozen=True)
class Doc:
    """What an output means (the package's description of it)."""

    text: str


@dataclass(frozen=True)
class ServiceOutput:
    """One output of the component, as its class declares it."""

    attribute: str
    export: str  # the stack's export and the package schema's name
    annotation: str  # its type in the component package
    doc: str


def outputs() -> tuple[ServiceOutput, ...]:
    """The component's outputs: its ``pulumi.Output`` annotations, each with its ``Doc``."""
    found = []
    for attribute, text in LambdaAlbService.__annotations__.items():  # the class's own, as written
        hint = eval(text, globals()) if isinstance(text, str) else text  # noqa: S307 - our own annotations
        if typing.get_origin(hint) is not Annotated:
            continue
        kind, *marks = typing.get_args(hint)
        doc = next((m.text for m in marks if isinstance(m, Doc)), None)
        if doc is None:
            continue
        export = next((m.name for m in marks if isinstance(m, Export)), to_camel(attribute))
        optional = type(None) in typing.get_args(kind)
        output = next(a for a in typing.get_args(kind) if a is not type(None)) if optional else kind
        (inner,) = typing.get_args(output)
        shown = inner.__name__ if isinstance(inner, type) and not typing.get_args(inner) else repr(inner)
        found.append(ServiceOutput(attribute, export, f"Optional[{shown}]" if optional else shown, doc))
    return tuple(found)
