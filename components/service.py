"""``LambdaAlbService``: a Python Lambda function behind an Application Load Balancer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.access_logs import create_access_log_bucket
from components.domain import create_alias_record, create_certificate
from components.lambda_function import create_function
from components.listener import ForwardTo, create_listeners, create_rules
from components.monitoring import Observed, create_alarms, create_dashboard
from components.network import create_security_group, resolve_network
from components.settings import OWN_TAG_KEYS, LoadBalancerSettings, Settings
from components.waf import create_waf

TYPE_TOKEN = "lambda-alb:components:LambdaAlbService"
# The provider names the load balancer and target group "<name>-lb-<7 random>" and "<name>-tg-<7 random>";
# AWS allows 32 characters. One character is kept spare (stack names of at most 9 characters).
MAX_NAME_LENGTH = 32 - len("-tgs-") - 7
_NAME_RE = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9-]{{0,{MAX_NAME_LENGTH - 1}}}$")


class LambdaAlbService(pulumi.ComponentResource):
    """The function, its target group and invoke permission, the load balancer, its listeners,
    rules and security group, and the access-log bucket, all children of this component.

    Attributes (also the stack's exports): ``url``, ``alb_dns_name``, ``alb_arn``,
    ``listener_arns``, ``target_group_arn``, ``function_name``, ``function_arn``,
    ``log_group_name``, ``access_logs_bucket`` (None when access logs are disabled),
    ``function_version``, ``live_alias_arn``, and, when configured, ``web_acl_arn``,
    ``alarm_topic_arn`` and ``dashboard_url``.
    """

    url: pulumi.Output[str]
    alb_dns_name: pulumi.Output[str]
    alb_arn: pulumi.Output[str]
    listener_arns: pulumi.Output[list]
    target_group_arn: pulumi.Output[str]
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    access_logs_bucket: pulumi.Output[str] | None
    function_version: pulumi.Output[str]
    live_alias_arn: pulumi.Output[str]
    web_acl_arn: pulumi.Output[str] | None
    alarm_topic_arn: pulumi.Output[str] | None
    dashboard_url: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        args: Settings,
        project_dir: Path,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``name`` is also the function's name (at most 64 characters); ``args`` the validated
        settings; ``project_dir`` where ``function.codeDir`` is resolved."""
        if not _NAME_RE.match(name):
            raise pulumi.RunError(
                f"LambdaAlbService name {name!r} names the function, load balancer and target group: use at "
                f"most {MAX_NAME_LENGTH} letters, digits and - (with the lambda-alb- prefix, a stack name "
                f"of at most {MAX_NAME_LENGTH - len('lambda-alb-')} characters such as prod or staging)"
            )
        lb_settings = args.load_balancer
        # Every lookup goes to the provider the component was given, so that a component in another
        # region or account looks up that region's network, account and partition.
        invoke = pulumi.InvokeOptions(provider=aws_provider(opts))
        # Looked up before anything is registered: a missing default VPC, or subnets in one zone,
        # stop the program with nothing created.
        vpc_id, subnet_ids = resolve_network(lb_settings, invoke)
        super().__init__(TYPE_TOKEN, name, None, opts)
        tags = resource_tags(args.tags)
        self.tags = tags

        fn = create_function(name, name, args.function, project_dir, tags, self)

        live_tg, live_ready = self._target(name, fn.live, lb_settings, tags)
        forward = ForwardTo(((live_tg.arn, 100),), (live_ready,))

        lb_dependencies: list[pulumi.Resource] = []
        access_logs = None
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
        if lb_settings.domain_name:
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
        listeners = create_listeners(name, lb_settings, load_balancer, forward, certificate_arn, tags, self)
        create_rules(name, args.routes, listeners.serving, forward, tags, self)

        scheme = "https" if lb_settings.https else "http"
        if domain is not None:
            create_alias_record(name, lb_settings.domain_name, domain, load_balancer, self)
            self.url = pulumi.Output.from_input(f"https://{lb_settings.domain_name}/")
        else:
            self.url = load_balancer.dns_name.apply(lambda dns: f"{scheme}://{dns}/")

        self.web_acl_arn = create_waf(name, args.waf, load_balancer, tags, self) if args.waf.enabled else None
        # During a canary the alarms and the dashboard also watch the version being tried.
        canary_version = fn.function.version if args.function.canary_weight else None
        observed = Observed(load_balancer.arn_suffix, live_tg.arn_suffix, fn.function.name, canary_version)
        self.alarm_topic_arn = None
        if args.monitoring.alarms:
            self.alarm_topic_arn = create_alarms(name, args.monitoring, args.function, observed, tags, invoke, self).arn
        self.dashboard_url = create_dashboard(name, observed, invoke, self) if args.monitoring.dashboard else None
        self.alb_dns_name = load_balancer.dns_name
        self.alb_arn = load_balancer.arn
        self.listener_arns = pulumi.Output.all(*[listener.arn for listener in listeners.all])
        self.target_group_arn = live_tg.arn
        self.function_name = fn.function.name
        self.function_arn = fn.function.arn
        self.function_version = fn.function.version
        self.live_alias_arn = fn.live.arn
        self.log_group_name = fn.log_group.name
        self.register_outputs(
            {
                "url": self.url,
                "albDnsName": self.alb_dns_name,
                "albArn": self.alb_arn,
                "listenerArns": self.listener_arns,
                "targetGroupArn": self.target_group_arn,
                "functionName": self.function_name,
                "functionArn": self.function_arn,
                "logGroupName": self.log_group_name,
                "accessLogsBucket": self.access_logs_bucket,
                "functionVersion": self.function_version,
                "liveAliasArn": self.live_alias_arn,
                "webAclArn": self.web_acl_arn,
                "alarmTopicArn": self.alarm_topic_arn,
                "dashboardUrl": self.dashboard_url,
            }
        )

    def _target(
        self, name: str, alias: aws.lambda_.Alias, lb_settings: LoadBalancerSettings, tags: dict[str, str]
    ) -> tuple[aws.lb.TargetGroup, aws.lb.TargetGroupAttachment]:
        """A target group for ``alias``, the permission to invoke that alias, and the registration."""
        child = pulumi.ResourceOptions(parent=self)
        target_group = aws.lb.TargetGroup(
            f"{name}-tg",
            target_type="lambda",
            lambda_multi_value_headers_enabled=lb_settings.multi_value_headers,
            health_check=_health_check_args(lb_settings),
            tags=tags,
            opts=child,
        )
        permission = aws.lambda_.Permission(
            f"{name}-invoke",
            function=alias.function_name,
            qualifier=alias.name,
            action="lambda:InvokeFunction",
            principal="elasticloadbalancing.amazonaws.com",
            source_arn=target_group.arn,
            opts=child,
        )
        attachment = aws.lb.TargetGroupAttachment(
            f"{name}-attach",
            target_group_arn=target_group.arn,
            target_id=alias.arn,
            # Registration fails unless the load balancer may already invoke the alias
            # (docs/alb-behaviour.md#ordering-that-breaks-deployments); nothing in the data flow says so.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )
        return target_group, attachment


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


def _health_check_args(lb_settings) -> aws.lb.TargetGroupHealthCheckArgs:
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
