"""Production operations under mocks: alarms, dashboard, WAF, custom domain, alias releases, canary."""

import json

import pytest

from components.settings import SettingsError, parse_settings
from tests.harness import ACCOUNT, Graph, evaluate, with_

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
LISTENER = "aws:lb/listener:Listener"


# --- present in prod, absent in dev -------------------------------------------------------------


@pytest.mark.parametrize(
    "typ",
    [
        ALARM,
        WEB_ACL,
        "aws:wafv2/webAclAssociation:WebAclAssociation",
        "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
        "aws:sns/topic:Topic",
        "aws:kms/key:Key",
        "aws:cloudwatch/dashboard:Dashboard",
    ],
)
def test_operations_resources_exist_in_prod_and_not_in_dev(dev: Graph, prod: Graph, typ):
    assert prod.of_type(typ)
    assert not dev.of_type(typ)


def test_prod_alarms_cover_the_six_signals_and_notify_the_topic(prod):
    alarms = {r.inputs["metricName"]: r.inputs for r in prod.of_type(ALARM)}
    assert set(alarms) == {
        "HTTPCode_ELB_5XX_Count",
        "HTTPCode_Target_5XX_Count",
        "Errors",
        "Throttles",
        "Duration",
        "TargetResponseTime",
    }
    topic_arn = prod.outputs["alarmTopicArn"]
    for alarm in alarms.values():
        assert alarm["alarmActions"] == [topic_arn] and alarm["okActions"] == [topic_arn]
        assert alarm["treatMissingData"] == "notBreaching"
        assert alarm["alarmDescription"]
    lb_suffix = prod.outputs["albArn"].split(":loadbalancer/")[1]
    assert alarms["HTTPCode_ELB_5XX_Count"]["dimensions"] == {"LoadBalancer": lb_suffix}
    assert set(alarms["HTTPCode_Target_5XX_Count"]["dimensions"]) == {"LoadBalancer", "TargetGroup"}
    assert alarms["Errors"]["dimensions"] == {"FunctionName": "lambda-alb-prod"}
    # prod's timeout is 15 s: Duration p99 alarms at 80% of it.
    assert alarms["Duration"]["extendedStatistic"] == "p99" and alarms["Duration"]["threshold"] == 12000
    assert alarms["TargetResponseTime"]["extendedStatistic"] == "p99"


def test_alarm_topic_is_encrypted_with_a_rotating_key_cloudwatch_may_use(prod):
    key = prod.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    policy = json.loads(key.inputs["policy"])
    cloudwatch = next(s for s in policy["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"})
    assert sorted(cloudwatch["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    admin = next(s for s in policy["Statement"] if s["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
    assert admin["Action"] == "kms:*"
    topic = prod.one("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key.name}"
    (publish,) = json.loads(prod.one("aws:sns/topicPolicy:TopicPolicy").inputs["policy"])["Statement"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    # Only this stack's alarms may publish: another stack's alarm cannot page this one's on-call.
    assert publish["Condition"]["ArnLike"] == {
        "aws:SourceArn": f"arn:aws:cloudwatch:*:{ACCOUNT}:alarm:lambda-alb-prod-*"
    }
    alarm_names = [a.name for a in prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")]
    assert alarm_names and all(name.startswith("lambda-alb-prod-") for name in alarm_names)


def test_the_alarm_topic_takes_the_bootstraps_key_and_then_creates_none():
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0000-prod"
    graph = evaluate(with_("prod", monitoring={"kmsKeyArn": key}), "prod", preview=True)
    assert graph.of_type("aws:kms/key:Key") == []
    assert graph.one("aws:sns/topic:Topic").inputs["kmsMasterKeyId"] == key


def test_alarm_email_subscribes_to_the_topic():
    graph = evaluate(with_("prod", monitoring={"alarmEmail": "oncall@example.com"}), "prod", preview=True)
    subscription = graph.one("aws:sns/topicSubscription:TopicSubscription").inputs
    assert subscription == {**subscription, "protocol": "email", "endpoint": "oncall@example.com"}
    assert subscription["topic"] == graph.outputs["alarmTopicArn"]


def test_dashboard_shows_every_signal_on_one_page_and_its_url_is_exported(prod):
    dashboard = prod.one("aws:cloudwatch/dashboard:Dashboard").inputs
    body = json.loads(dashboard["dashboardBody"])
    metrics = {m[1] for w in body["widgets"] for m in w["properties"]["metrics"]}
    assert {
        "RequestCount",
        "HTTPCode_ELB_4XX_Count",
        "HTTPCode_ELB_5XX_Count",
        "HTTPCode_Target_5XX_Count",
        "TargetResponseTime",
        "Invocations",
        "Errors",
        "Throttles",
        "Duration",
        "ConcurrentExecutions",
    } <= metrics
    assert prod.outputs["dashboardUrl"] == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/lambda-alb-prod"
    )


def test_waf_has_the_rate_limit_and_the_four_managed_groups(prod):
    acl = prod.one(WEB_ACL).inputs
    assert acl["scope"] == "REGIONAL"
    rules = sorted(acl["rules"], key=lambda rule: rule["priority"])
    rate = rules[0]["statement"]["rateBasedStatement"]
    assert rate == {"limit": 2000, "aggregateKeyType": "IP"}
    assert rules[0]["action"] == {"block": {}}
    groups = [rule["statement"]["managedRuleGroupStatement"]["name"] for rule in rules[1:]]
    assert groups == [
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesAnonymousIpList",
    ]
    assert all(rule["visibilityConfig"]["cloudwatchMetricsEnabled"] for rule in rules)


def test_waf_is_associated_with_the_load_balancer_and_logs_redacted(prod):
    association = prod.one("aws:wafv2/webAclAssociation:WebAclAssociation").inputs
    assert association["resourceArn"] == prod.outputs["albArn"]
    assert association["webAclArn"] == prod.outputs["webAclArn"]
    logging = prod.one("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration").inputs
    assert [f["singleHeader"]["name"] for f in logging["redactedFields"]] == ["authorization", "cookie"]
    log_group = next(
        r for r in prod.of_type("aws:cloudwatch/logGroup:LogGroup") if r.inputs["name"].startswith("aws-waf-logs-")
    )
    assert log_group.inputs["name"] == "aws-waf-logs-lambda-alb-prod"
    assert log_group.inputs["retentionInDays"] >= 365
    assert logging["logDestinationConfigs"] == [
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:aws-waf-logs-lambda-alb-prod"
    ]


def test_an_existing_web_acl_is_associated_instead_of_created():
    arn = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:regional/webacl/shared/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    graph = evaluate(with_("dev", waf={"enabled": True, "webAclArn": arn}))
    assert not graph.of_type(WEB_ACL)
    assert graph.one("aws:wafv2/webAclAssociation:WebAclAssociation").inputs["webAclArn"] == arn
    assert graph.outputs["webAclArn"] == arn


# --- custom domain ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def domain_graph() -> Graph:
    return evaluate(with_("dev", loadBalancer={"domainName": "app.example.com", "hostedZoneName": "example.com"}))


def test_custom_domain_gets_a_dns_validated_certificate(domain_graph):
    cert = domain_graph.one("aws:acm/certificate:Certificate").inputs
    assert cert["domainName"] == "app.example.com" and cert["validationMethod"] == "DNS"
    records = {r.inputs["type"]: r.inputs for r in domain_graph.of_type("aws:route53/record:Record")}
    assert records["CNAME"]["name"] == "_x1.app.example.com."
    assert records["CNAME"]["records"] == ["_x2.acm-validations.aws."]
    assert records["CNAME"]["zoneId"] == "Z0123456789ABCDEFGHIJ"
    validation = domain_graph.one("aws:acm/certificateValidation:CertificateValidation").inputs
    assert validation["validationRecordFqdns"] == ["_x1.app.example.com"]


def test_custom_domain_serves_https_with_that_certificate_and_an_alias_record(domain_graph):
    listeners = {r.inputs["port"]: r.inputs for r in domain_graph.of_type(LISTENER)}
    assert listeners[443]["certificateArn"] == f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/lambda-alb-dev-cert"
    assert listeners[443]["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert listeners[80]["defaultActions"][0]["type"] == "redirect"
    alias = next(r.inputs for r in domain_graph.of_type("aws:route53/record:Record") if r.inputs["type"] == "A")
    assert alias["name"] == "app.example.com"
    assert alias["aliases"] == [
        {"name": domain_graph.outputs["albDnsName"], "zoneId": "Z35SXDOTRQ7X7K", "evaluateTargetHealth": True}
    ]
    assert domain_graph.outputs["url"] == "https://app.example.com/"


def test_the_https_listener_waits_for_the_certificate_validation(domain_graph):
    https = next(r for r in domain_graph.of_type(LISTENER) if r.inputs["port"] == 443)
    assert domain_graph.depends_on(https, domain_graph.one("aws:acm/certificateValidation:CertificateValidation"))


# --- releases through the alias -----------------------------------------------------------------


def test_every_change_publishes_a_version_that_live_serves(dev):
    fn = dev.one("aws:lambda/function:Function").inputs
    assert fn["publish"] is True
    (alias,) = dev.of_type("aws:lambda/alias:Alias")
    assert alias.inputs["name"] == "live" and alias.inputs["functionVersion"] == dev.outputs["functionVersion"]


def test_live_version_pins_the_alias_for_a_rollback():
    graph = evaluate(with_("dev", function={"liveVersion": 5}))
    (alias,) = graph.of_type("aws:lambda/alias:Alias")
    assert alias.inputs["functionVersion"] == "5"


@pytest.fixture(scope="module")
def canary() -> Graph:
    config = with_("dev", function={"canaryWeight": 10, "stableVersion": "6"})
    config["lambda-alb:routes"] = [{"priority": 5, "pathPatterns": ["/api/*"]}]
    return evaluate(config)


def test_canary_keeps_live_on_the_stable_version_and_routes_its_weight_to_the_new_one(canary):
    (alias,) = canary.of_type("aws:lambda/alias:Alias")
    assert alias.inputs["name"] == "live"
    assert alias.inputs["functionVersion"] == "6"
    new_version = canary.outputs["functionVersion"]
    assert new_version != "6"
    assert alias.inputs["routingConfig"] == {"additionalVersionWeights": {new_version: 0.1}}


def test_the_new_version_is_reachable_only_through_the_live_alias_weight(canary):
    # One UpdateAlias call sets the primary version and the routing together: no listener, rule,
    # target group or permission leads to the new version by another way during the deploy.
    assert {r.inputs["qualifier"] for r in canary.of_type("aws:lambda/permission:Permission")} == {"live"}
    targets = [r.inputs["targetId"] for r in canary.of_type("aws:lb/targetGroupAttachment:TargetGroupAttachment")]
    assert targets == [f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:lambda-alb-dev:live"]
    (group,) = canary.of_type("aws:lb/targetGroup:TargetGroup")
    forwards = [a for r in canary.of_type(LISTENER) for a in r.inputs["defaultActions"]]
    forwards += [a for r in canary.of_type("aws:lb/listenerRule:ListenerRule") for a in r.inputs["actions"]]
    arn = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/{group.name}/73e2d6bc24d8a067"
    assert forwards and all(a == {"type": "forward", "targetGroupArn": arn} for a in forwards)


def test_ending_the_canary_moves_live_to_the_new_version_with_no_routing(dev):
    (alias,) = dev.of_type("aws:lambda/alias:Alias")
    assert alias.inputs["functionVersion"] == dev.outputs["functionVersion"]
    assert "routingConfig" not in alias.inputs


def test_during_a_canary_an_alarm_and_a_dashboard_row_watch_the_new_version():
    graph = evaluate(
        with_("prod", function={"canaryWeight": 5, "stableVersion": "6"}, monitoring={"alarms": True}),
        "prod",
        preview=True,
    )
    version = graph.outputs["functionVersion"]
    canary_alarm = next(a for a in graph.of_type(ALARM) if "ExecutedVersion" in a.inputs["dimensions"])
    assert canary_alarm.inputs["metricName"] == "Errors"
    assert canary_alarm.inputs["dimensions"] == {
        "FunctionName": "lambda-alb-prod",
        "Resource": "lambda-alb-prod:live",
        "ExecutedVersion": version,
    }
    body = json.loads(graph.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    watched = [m for w in body["widgets"] for m in w["properties"]["metrics"] if "ExecutedVersion" in m]
    assert {m[1] for m in watched} == {"Invocations", "Errors"}
    assert all(m[m.index("ExecutedVersion") + 1] == version for m in watched)


def test_no_canary_alarm_outside_a_canary(prod):
    assert all("ExecutedVersion" not in a.inputs["dimensions"] for a in prod.of_type(ALARM))


# --- validation ---------------------------------------------------------------------------------


def problems(values: dict) -> list[str]:
    with pytest.raises(SettingsError) as info:
        parse_settings(values)
    return info.value.problems


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"function": {"canaryWeight": 101, "stableVersion": "3"}},
            "function.canaryWeight: 101 is outside 0-100 percent",
        ),
        (
            {"function": {"canaryWeight": -1, "stableVersion": "3"}},
            "function.canaryWeight: -1 is outside 0-100 percent",
        ),
        ({"function": {"canaryWeight": 10}}, "function.canaryWeight: 10 needs function.stableVersion"),
        ({"function": {"stableVersion": "3"}}, "function.stableVersion: set without function.canaryWeight"),
        ({"function": {"liveVersion": "$LATEST"}}, "function.liveVersion: '$LATEST' is not a published version"),
        (
            {"monitoring": {"alarms": True, "alarmEmail": "oncall.example.com"}},
            "'oncall.example.com' is not an e-mail address",
        ),
        ({"monitoring": {"alarmEmail": "a@b.co"}}, "monitoring.alarmEmail: set while monitoring.alarms is off"),
        (
            {"loadBalancer": {"domainName": "app.example.org", "hostedZoneName": "example.com"}},
            "loadBalancer.domainName: 'app.example.org' is outside the zone 'example.com'",
        ),
        ({"loadBalancer": {"domainName": "app.example.com"}}, "loadBalancer.hostedZoneName: missing"),
        (
            {
                "loadBalancer": {
                    "domainName": "app.example.com",
                    "hostedZoneName": "example.com",
                    "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
                }
            },
            "loadBalancer.certificateArn: set with loadBalancer.domainName",
        ),
        ({"waf": {"enabled": True, "rateLimit": 9}}, "waf.rateLimit: 9 is outside 10-2000000000"),
        (
            {"function": {"canaryWeight": 10, "stableVersion": 6, "liveVersion": 5}},
            "function.liveVersion: set during a canary, where live serves function.stableVersion",
        ),
        (
            {"waf": {"enabled": True, "logRetentionDays": 90}},
            "waf.logRetentionDays: 90 is not a retention CloudWatch Logs accepts here; use one of 365,",
        ),
        (
            {"waf": {"webAclArn": "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/a/b"}},
            "set while waf.enabled is false",
        ),
        (
            {"waf": {"enabled": True, "webAclArn": "arn:aws:wafv2:us-east-1:123456789012:global/webacl/a/b"}},
            "is not a regional WAFv2",
        ),
    ],
)
def test_bad_operations_values_are_refused_by_name(values, expected):
    found = problems(values)
    assert any(expected in p for p in found), found


def test_a_canary_with_nothing_new_published_is_an_error_naming_both_keys():
    # The mocks publish version 7: a canary whose stableVersion is 7 would route to the version live
    # already serves, which Lambda refuses; the program says so instead of the API's error.
    with pytest.raises(Exception, match="canaryWeight routes to the newest version, 7, which is stableVersion") as info:
        evaluate(with_("dev", function={"canaryWeight": 10, "stableVersion": "7"}))
    assert "lambda-alb-dev: " in str(info.value) and "together with a code change" in str(info.value)
