"""Alarms to an encrypted SNS topic, and a dashboard: what an on-call engineer looks at."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from .lambda_function import LIVE_ALIAS
from .release_settings import RELEASE_ALARM_KEYS
from .settings import FunctionArgs, MonitoringArgs


def alarm_key_policy(account_id: str, partition: str = "aws") -> str:
    """The topic key: the account administers it; CloudWatch may encrypt alarm notifications with it.

    With the AWS-managed SNS key, CloudWatch cannot use the key and alarm notifications are
    silently dropped; hence a customer-managed key that grants the service.
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministersTheKey",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "CloudWatchAlarmsEncryptNotifications",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                },
            ],
        }
    )


def topic_policy(topic_arn: str, account_id: str, alarm_prefix: str, partition: str = "aws") -> str:
    """This stack's CloudWatch alarms (named ``<alarm_prefix>-...``) may publish to the topic; no
    other alarm of the account can page this stack's on-call."""
    alarms = f"arn:{partition}:cloudwatch:*:{account_id}:alarm:{alarm_prefix}-*"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "CloudWatchAlarmsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account_id},
                        "ArnLike": {"aws:SourceArn": alarms},
                    },
                }
            ],
        }
    )


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: a metric, a statistic, a threshold, and how long it must be breached."""

    key: str
    description: str
    namespace: str
    metric: str
    dimensions: str  # "lb", "lb+tg", "fn", "alias" (the live alias) or "canary" (the version a canary tries)
    threshold: float
    statistic: str | None = "Sum"
    extended_statistic: str | None = None
    period: int = 60
    evaluation_periods: int = 5
    datapoints_to_alarm: int = 3


def alarm_specs(monitoring: MonitoringArgs, function: FunctionArgs) -> list[AlarmSpec]:
    """The standing alarms: two on the load balancer and four on the function (``dimensions``
    says which). Missing data (no traffic) is not breaching: a quiet service is healthy."""
    duration_limit_ms = function.timeout * 1000 * monitoring.duration_p99_percent / 100
    return [
        AlarmSpec("elb-5xx", "The load balancer answers 5xx itself (bad responses, timeouts, throttles)",
                  "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "lb", monitoring.elb_5xx_threshold),
        AlarmSpec("target-5xx", "The function answers 5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count",
                  "lb+tg", monitoring.target_5xx_threshold),
        AlarmSpec("errors", "The function raises or times out", "AWS/Lambda", "Errors", "fn",
                  monitoring.errors_threshold),
        AlarmSpec("throttles", "Invocations are throttled (reserved concurrency reached)", "AWS/Lambda",
                  "Throttles", "fn", 1, evaluation_periods=1, datapoints_to_alarm=1),
        AlarmSpec("duration-p99", f"Duration p99 passes {monitoring.duration_p99_percent}% of the timeout",
                  "AWS/Lambda", "Duration", "fn", duration_limit_ms, statistic=None, extended_statistic="p99",
                  period=300, evaluation_periods=3, datapoints_to_alarm=2),
        AlarmSpec("latency-p99", f"Response time p99 over {monitoring.latency_p99_seconds:g} s",
                  "AWS/ApplicationELB", "TargetResponseTime", "lb", monitoring.latency_p99_seconds, statistic=None,
                  extended_statistic="p99", period=300, evaluation_periods=3, datapoints_to_alarm=2),
    ]  # fmt: skip


def canary_alarm_specs(monitoring: MonitoringArgs) -> list[AlarmSpec]:
    """During a canary, and with releases through CodeDeploy: errors of the newest version alone,
    through live, which the function-wide alarm would dilute with the stable version's traffic. One
    minute suffices: a canary lasts minutes. It is the alarm a release watches, so an alarm already
    firing for the old version never blocks the release of its fix."""
    return [
        AlarmSpec("canary-errors", "The newest version (a canary's, or a release's) raises or times out",
                  "AWS/Lambda", "Errors", "canary", monitoring.errors_threshold, evaluation_periods=1,
                  datapoints_to_alarm=1),
    ]  # fmt: skip


@dataclass
class Observed:
    """One function as the alarms and the dashboard look at it, behind its load balancer."""

    label: str | None  # the function's key under `functions`; None for the one `function`
    function: FunctionArgs
    lb_suffix: pulumi.Input[str]
    tg_suffix: pulumi.Input[str]
    function_name: pulumi.Input[str]
    # The version a canary routes its share to (None outside a canary). Lambda reports an alias's
    # invocations per version under the dimensions FunctionName, Resource (<name>:<alias>) and
    # ExecutedVersion.
    canary_version: pulumi.Input[str] | None = None


@dataclass
class Alarms:
    """The alarm topic, and per function (by its label) the names of the alarms its releases watch."""

    topic: aws.sns.Topic
    watched: dict[str | None, list[pulumi.Output[str]]]


def create_alarms(
    name: str,
    monitoring: MonitoringArgs,
    functions: list[Observed],
    tags: dict[str, str],
    invoke: pulumi.InvokeOptions,
    parent: pulumi.Resource,
) -> Alarms:
    """The topic (and its e-mail subscription), its KMS key unless ``monitoring.kmsKeyArn`` names one,
    and one alarm per ``alarm_specs``."""
    opts = pulumi.ResourceOptions(parent=parent)
    identity = aws.get_caller_identity_output(opts=invoke)
    partition = aws.get_partition_output(opts=invoke)
    key_arn: pulumi.Input[str]
    if monitoring.kms_key_arn is not None:
        key_arn = monitoring.kms_key_arn  # the bootstrap's stack key, when the pipeline deploys
    else:
        key_arn = aws.kms.Key(
            f"{name}-alarms-key",
            description=f"Encrypts the {name} alarm topic",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(identity.account_id, partition.partition).apply(lambda a: alarm_key_policy(*a)),
            tags=tags,
            opts=opts,
        ).arn
    topic = aws.sns.Topic(f"{name}-alarms", kms_master_key_id=key_arn, tags=tags, opts=opts)
    aws.sns.TopicPolicy(
        f"{name}-alarms-policy",
        arn=topic.arn,
        policy=pulumi.Output.all(topic.arn, identity.account_id, partition.partition).apply(
            lambda a: topic_policy(a[0], a[1], name, a[2])
        ),
        opts=opts,
    )
    if monitoring.alarm_email:
        aws.sns.TopicSubscription(
            f"{name}-alarms-email", topic=topic.arn, protocol="email", endpoint=monitoring.alarm_email, opts=opts
        )

    def alarm(logical: str, spec: AlarmSpec, dimensions: dict[str, pulumi.Input[str]]) -> pulumi.Output[str]:
        return aws.cloudwatch.MetricAlarm(
            logical,
            alarm_description=spec.description,
            namespace=spec.namespace,
            metric_name=spec.metric,
            dimensions=dimensions,
            statistic=spec.statistic,
            extended_statistic=spec.extended_statistic,
            period=spec.period,
            evaluation_periods=spec.evaluation_periods,
            datapoints_to_alarm=spec.datapoints_to_alarm,
            threshold=spec.threshold,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            tags=tags,
            opts=opts,
        ).name

    # The load balancer's own signals once; the function's for each function. A release watches
    # the newest version's own (RELEASE_ALARM_KEYS), never one the old version or another function
    # can set off.
    lb_suffix = functions[0].lb_suffix
    shared = []
    for spec in alarm_specs(monitoring, functions[0].function):
        if spec.dimensions == "lb":
            made = alarm(f"{name}-alarm-{spec.key}", spec, {"LoadBalancer": lb_suffix})
            if spec.key in RELEASE_ALARM_KEYS:
                shared.append(made)
    watched: dict[str | None, list[pulumi.Output[str]]] = {}
    for observed in functions:
        prefix = name if observed.label is None else f"{name}-{observed.label}"
        dimensions = {
            "lb+tg": {"LoadBalancer": observed.lb_suffix, "TargetGroup": observed.tg_suffix},
            # All versions together: a canary's errors count as much as live's.
            "fn": {"FunctionName": observed.function_name},
        }
        specs = [spec for spec in alarm_specs(monitoring, observed.function) if spec.dimensions != "lb"]
        if observed.canary_version is not None:
            dimensions["canary"] = canary_dimensions(observed, observed.canary_version)
            specs += canary_alarm_specs(monitoring)
        if observed.function.provisioned_concurrency:
            # Invocations the provisioned instances could not take: cold starts again, time to raise it.
            alias = pulumi.Output.concat(observed.function_name, f":{LIVE_ALIAS}")
            dimensions["alias"] = {"FunctionName": observed.function_name, "Resource": alias}
            specs.append(
                AlarmSpec("provisioned-spillover", "Invocations spill over the provisioned concurrency (cold starts)",
                          "AWS/Lambda", "ProvisionedConcurrencySpilloverInvocations", "alias", 1,
                          period=300, evaluation_periods=3, datapoints_to_alarm=2)
            )  # fmt: skip
        watched[observed.label] = list(shared)
        for spec in specs:
            made = alarm(f"{prefix}-alarm-{spec.key}", spec, dimensions[spec.dimensions])
            if spec.key in RELEASE_ALARM_KEYS:
                watched[observed.label].append(made)
    return Alarms(topic, watched)


def canary_dimensions(observed: Observed, version: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    """The metric dimensions of the canary version's invocations through the `live` alias."""
    resource = pulumi.Output.concat(observed.function_name, f":{LIVE_ALIAS}")
    return {"FunctionName": observed.function_name, "Resource": resource, "ExecutedVersion": version}


@dataclass(frozen=True)
class DashboardRow:
    """One function's part of the dashboard (resolved values)."""

    label: str | None
    tg_suffix: str
    function_name: str
    canary_version: str | None = None


def dashboard_body(region: str, lb_suffix: str, rows: list[DashboardRow]) -> str:
    """One page: requests, 4xx/5xx, latency p50/p99, then for each function invocations, errors,
    throttles, duration, concurrency (and its canary's version while one runs). Widgets flow two
    to a row."""
    lb = ["LoadBalancer", lb_suffix]
    elb = "AWS/ApplicationELB"
    count = 0

    def widget(title: str, metrics: list[Any], stat: str = "Sum") -> dict[str, Any]:
        nonlocal count
        x, y = 12 * (count % 2), 6 * (count // 2)
        count += 1
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "stat": stat,
                "period": 60,
                "view": "timeSeries",
                "metrics": metrics,
            },
        }

    target_codes = [
        [elb, f"HTTPCode_Target_{code}_Count", *lb, "TargetGroup", row.tg_suffix]
        for row in rows
        for code in ("4XX", "5XX")
    ]
    widgets = [
        widget("Requests", [[elb, "RequestCount", *lb]]),
        widget("4xx and 5xx", [
            [elb, "HTTPCode_ELB_4XX_Count", *lb], [elb, "HTTPCode_ELB_5XX_Count", *lb], *target_codes,
        ]),
        widget("Response time", [
            [elb, "TargetResponseTime", *lb, {"stat": "p50"}], [elb, "TargetResponseTime", *lb, {"stat": "p99"}],
        ], "p99"),
    ]  # fmt: skip
    for row in rows:
        fn, of = ["FunctionName", row.function_name], f" ({row.label})" if row.label else ""
        widgets += [
            widget(f"Invocations, errors, throttles{of}", [
                ["AWS/Lambda", "Invocations", *fn], ["AWS/Lambda", "Errors", *fn], ["AWS/Lambda", "Throttles", *fn],
            ]),
            widget(f"Duration{of}", [
                ["AWS/Lambda", "Duration", *fn, {"stat": "p50"}], ["AWS/Lambda", "Duration", *fn, {"stat": "p99"}],
            ], "p99"),
            widget(f"Concurrency{of}", [["AWS/Lambda", "ConcurrentExecutions", *fn]], "Maximum"),
        ]  # fmt: skip
        if row.canary_version is not None:
            version = [*fn, "Resource", f"{row.function_name}:{LIVE_ALIAS}", "ExecutedVersion", row.canary_version]
            widgets.append(
                widget(f"Canary{of}: version {row.canary_version}", [
                    ["AWS/Lambda", "Invocations", *version], ["AWS/Lambda", "Errors", *version],
                ])
            )  # fmt: skip
    return json.dumps({"widgets": widgets})


def create_dashboard(
    name: str, functions: list[Observed], invoke: pulumi.InvokeOptions, parent: pulumi.Resource
) -> pulumi.Output[str]:
    """The dashboard; returns its console URL."""
    region = aws.get_region_output(opts=invoke).region

    def row(observed: Observed) -> pulumi.Output[DashboardRow]:
        parts = pulumi.Output.all(observed.tg_suffix, observed.function_name, observed.canary_version)
        return parts.apply(lambda a: DashboardRow(observed.label, a[0], a[1], a[2]))

    rows = [row(o) for o in functions]
    body = pulumi.Output.all(region, functions[0].lb_suffix, pulumi.Output.all(*rows)).apply(
        lambda a: dashboard_body(a[0], a[1], list(a[2]))
    )
    dashboard = aws.cloudwatch.Dashboard(
        f"{name}-dashboard", dashboard_name=name, dashboard_body=body, opts=pulumi.ResourceOptions(parent=parent)
    )
    return pulumi.Output.all(region, dashboard.dashboard_name).apply(
        lambda a: f"https://{a[0]}.console.aws.amazon.com/cloudwatch/home?region={a[0]}#dashboards/dashboard/{a[1]}"
    )
