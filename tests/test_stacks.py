"""The real dev and prod stacks under mocks: wiring, ordering, hardening and their differences."""

import base64
import hashlib
import json
import zipfile
from pathlib import Path

import pulumi
import pytest

from tests.harness import ACCOUNT, AwsMocks, Graph, RecordingMonitor, evaluate, load_stack

FUNCTION = "aws:lambda/function:Function"
LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
RULE = "aws:lb/listenerRule:ListenerRule"
TG = "aws:lb/targetGroup:TargetGroup"
BUCKET = "aws:s3/bucket:Bucket"
COMPONENT = "lambda-alb:components:LambdaAlbService"

EXPORTS = {
    "url",
    "functions",
    "albDnsName",
    "albArn",
    "listenerArns",
    "targetGroupArn",
    "functionName",
    "functionArn",
    "logGroupName",
    "accessLogsBucket",
    "functionVersion",
    "liveAliasArn",
}
PROD_ONLY_EXPORTS = {"webAclArn", "alarmTopicArn", "dashboardUrl"}


@pytest.fixture(params=["dev", "prod"])
def graph(request, dev, prod) -> Graph:
    return {"dev": dev, "prod": prod}[request.param]


def test_every_resource_is_a_child_of_the_component(graph):
    component = graph.one(COMPONENT)
    children = [r for r in graph.registrations if r.type not in (COMPONENT, "pulumi:pulumi:Stack")]
    assert children
    assert all(r.parent == component.urn for r in children), [r.name for r in children if r.parent != component.urn]


def test_stack_exports_every_documented_output(graph, prod):
    assert set(graph.outputs) == (EXPORTS | PROD_ONLY_EXPORTS if graph is prod else EXPORTS)
    assert graph.outputs["functionArn"].endswith(f":function:{graph.outputs['functionName']}")
    assert graph.outputs["logGroupName"] == f"/aws/lambda/{graph.outputs['functionName']}"
    assert graph.outputs["url"].endswith(graph.outputs["albDnsName"] + "/")


def test_attachment_waits_for_invoke_permission(graph):
    attachment = graph.one("aws:lb/targetGroupAttachment:TargetGroupAttachment")
    permission = graph.one("aws:lambda/permission:Permission")
    assert graph.depends_on(attachment, permission)


def test_invoke_permission_is_scoped_to_the_target_group_and_the_live_alias(graph):
    permission = graph.one("aws:lambda/permission:Permission").inputs
    target_group_arn = graph.outputs["targetGroupArn"]
    assert permission["principal"] == "elasticloadbalancing.amazonaws.com"
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["sourceArn"] == target_group_arn
    assert permission["function"] == graph.outputs["functionName"]
    assert permission["qualifier"] == "live"


def test_attachment_registers_the_live_alias_in_the_target_group(graph):
    attachment = graph.one("aws:lb/targetGroupAttachment:TargetGroupAttachment").inputs
    assert attachment["targetId"] == graph.outputs["liveAliasArn"]
    assert attachment["targetId"] == f"{graph.outputs['functionArn']}:live"
    assert attachment["targetGroupArn"] == graph.outputs["targetGroupArn"]


def test_load_balancer_waits_for_the_log_bucket_policy(graph):
    lb = graph.one(LB)
    assert graph.depends_on(lb, graph.one("aws:s3/bucketPolicy:BucketPolicy"))


def test_target_group_is_a_lambda_target_without_port_protocol_or_vpc(graph):
    tg = graph.one(TG).inputs
    assert tg["targetType"] == "lambda"
    assert not {"port", "protocol", "vpcId"} & set(tg)
    assert tg["healthCheck"] == {"enabled": False}
    assert tg["lambdaMultiValueHeadersEnabled"] is False


def test_load_balancer_is_hardened(graph):
    lb = graph.one(LB).inputs
    assert lb["loadBalancerType"] == "application"
    assert lb["internal"] is False
    assert lb["dropInvalidHeaderFields"] is True
    assert lb["desyncMitigationMode"] in ("defensive", "strictest")
    assert len(lb["subnets"]) >= 2
    assert lb["accessLogs"] == {"bucket": graph.outputs["accessLogsBucket"], "prefix": "alb", "enabled": True}


def test_security_group_opens_only_listener_ports_with_descriptions_and_no_egress(graph):
    sg = graph.one("aws:ec2/securityGroup:SecurityGroup").inputs
    ports = sorted(rule["fromPort"] for rule in sg["ingress"])
    listener_ports = sorted(r.inputs["port"] for r in graph.of_type(LISTENER))
    assert ports == listener_ports
    for rule in sg["ingress"]:
        assert rule["protocol"] == "tcp" and rule["fromPort"] == rule["toPort"]
        assert rule["description"]
    assert sg["egress"] == []
    sg_id = f"{graph.one('aws:ec2/securityGroup:SecurityGroup').name}-id"
    assert graph.one(LB).inputs["securityGroups"] == [sg_id]


def test_execution_role_is_trusted_only_by_lambda(graph):
    trust = json.loads(graph.one("aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}]


def test_function_policy_is_least_privilege_on_its_own_log_group(graph):
    policy = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    log_group = graph.outputs["logGroupName"]
    logs = next(s for s in policy["Statement"] if s["Sid"] == "WriteOwnLogGroup")
    assert sorted(logs["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    log_group_arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{log_group}"
    assert logs["Resource"] == [log_group_arn, f"{log_group_arn}:*"]
    assert not graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")


def test_function_waits_for_its_policy_and_log_group(graph):
    function = graph.one(FUNCTION)
    assert graph.depends_on(function, graph.one("aws:iam/rolePolicy:RolePolicy"))
    assert graph.depends_on(function, function_logs(graph))


def test_function_defaults_runtime_arm64_and_json_logs(graph):
    fn = graph.one(FUNCTION).inputs
    assert fn["runtime"] == "python3.13"
    assert fn["architectures"] == ["arm64"]
    assert fn["handler"] == "app.handler"
    assert fn["loggingConfig"] == {"logFormat": "JSON", "logGroup": graph.outputs["logGroupName"]}


def test_function_code_is_the_deterministic_package_and_its_hash(graph):
    fn = graph.one(FUNCTION).inputs
    archive = Path(fn["code"].path)
    assert zipfile.ZipFile(archive).namelist() == ["app.py"]
    assert fn["sourceCodeHash"] == base64.b64encode(hashlib.sha256(archive.read_bytes()).digest()).decode()


def test_log_bucket_is_private_acl_less_encrypted_and_expiring(graph):
    pab = graph.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert all(pab[flag] is True for flag in flags)
    ownership = graph.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    sse = graph.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    lifecycle = graph.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs
    rule = lifecycle["rules"][0]
    assert rule["status"] == "Enabled" and rule["expiration"]["days"] >= 1
    assert rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"] >= 1


def test_log_bucket_policy_denies_plain_http_and_lets_elb_write_only_its_prefix(graph):
    policy = json.loads(graph.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    bucket = graph.outputs["accessLogsBucket"]
    deny, allow = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert allow["Action"] == "s3:PutObject"
    assert allow["Resource"] == f"arn:aws:s3:::{bucket}/alb/AWSLogs/{ACCOUNT}/*"
    assert allow["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}  # us-east-1's ELB account


# --- dev and prod differ only in data ----------------------------------------------------------


def test_dev_serves_plain_http_forwarding_to_the_function(dev):
    (listener,) = dev.of_type(LISTENER)
    assert listener.inputs["port"] == 80 and listener.inputs["protocol"] == "HTTP"
    assert listener.inputs["defaultActions"] == [{"type": "forward", "targetGroupArn": dev.outputs["targetGroupArn"]}]
    assert dev.outputs["url"].startswith("http://")
    assert not dev.of_type(RULE)


def test_dev_tears_down_cleanly(dev):
    assert dev.one(LB).inputs["enableDeletionProtection"] is False
    bucket = dev.one(BUCKET)
    assert bucket.inputs["forceDestroy"] is True and not bucket.retain_on_delete
    assert function_logs(dev).inputs["retentionInDays"] <= 30


def test_prod_serves_https_with_tls13_and_redirects_http_with_301(prod):
    listeners = {r.inputs["port"]: r.inputs for r in prod.of_type(LISTENER)}
    https, http = listeners[443], listeners[80]
    assert https["protocol"] == "HTTPS"
    assert https["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["certificateArn"].startswith("arn:aws:acm:")
    assert http["defaultActions"] == [
        {"type": "redirect", "redirect": {"statusCode": "HTTP_301", "protocol": "HTTPS", "port": "443"}}
    ]
    assert prod.outputs["url"].startswith("https://")
    assert len(prod.outputs["listenerArns"]) == 2


def test_prod_keeps_its_logs_and_load_balancer(prod):
    assert prod.one(LB).inputs["enableDeletionProtection"] is True
    bucket = prod.one(BUCKET)
    assert bucket.retain_on_delete and bucket.inputs["forceDestroy"] is False
    assert prod.one("aws:s3/bucketPolicy:BucketPolicy").retain_on_delete
    assert function_logs(prod).inputs["retentionInDays"] >= 365


def test_prod_reserves_concurrency_and_traces_actively(prod):
    fn = prod.one(FUNCTION).inputs
    assert fn["reservedConcurrentExecutions"] >= 1
    assert fn["tracingConfig"] == {"mode": "Active"}
    policy = json.loads(prod.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    xray = next(s for s in policy["Statement"] if s["Sid"] == "ActiveTracing")
    assert sorted(xray["Action"]) == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]


def test_dev_has_no_xray_permission(dev):
    policy = json.loads(dev.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["WriteOwnLogGroup"]


def test_prod_routes_become_rules_on_the_https_listener_keyed_by_priority(prod):
    rules = {r.inputs["priority"]: r for r in prod.of_type(RULE)}
    assert sorted(rules) == [10, 20, 30]
    assert {r.name for r in rules.values()} == {f"lambda-alb-prod-rule-{p}" for p in (10, 20, 30)}
    https_arn = next(arn for arn in prod.outputs["listenerArns"] if arn.endswith("-https"))
    assert {r.inputs["listenerArn"] for r in rules.values()} == {https_arn}
    health = rules[10].inputs
    assert health["conditions"] == [
        {"pathPattern": {"values": ["/lb-health"]}},
        {"httpRequestMethod": {"values": ["GET", "HEAD"]}},
    ]
    assert health["actions"] == [
        {
            "type": "fixed-response",
            "fixedResponse": {"contentType": "application/json", "statusCode": "200", "messageBody": '{"status":"ok"}'},
        }
    ]
    assert rules[20].inputs["actions"] == [{"type": "redirect", "redirect": {"statusCode": "HTTP_301", "path": "/"}}]


def test_the_default_vpc_is_used_when_no_subnets_are_configured(dev):
    assert "aws:ec2/getVpcs:getVpcs" in dev.invokes
    subnets = dev.one(LB).inputs["subnets"]
    assert len(set(subnets)) >= 2
    assert dev.one("aws:ec2/securityGroup:SecurityGroup").inputs["vpcId"] == "vpc-0a1b2c3d4e5f60718"


# --- variations of the real stacks ------------------------------------------------------------


def _with(stack: str, key: str, **changes) -> dict:
    config = load_stack(stack)
    value = dict(config.get(f"lambda-alb:{key}") or {})
    value.update(changes)
    config[f"lambda-alb:{key}"] = value
    return config


def test_configured_subnets_and_vpc_skip_the_default_vpc_lookup():
    subnets = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
    graph = evaluate(_with("dev", "loadBalancer", vpcId="vpc-0123456789abcdef0", subnetIds=subnets))
    assert graph.one(LB).inputs["subnets"] == subnets
    assert graph.one("aws:ec2/securityGroup:SecurityGroup").inputs["vpcId"] == "vpc-0123456789abcdef0"
    assert "aws:ec2/getVpcs:getVpcs" not in graph.invokes


def test_configured_subnets_in_one_zone_are_refused_before_anything_is_created():
    subnets = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef6"]  # the mock puts both in zone a
    monitor = RecordingMonitor(AwsMocks())
    with pytest.raises(pulumi.RunError, match="all in us-east-1a; an Application Load Balancer needs subnets in at"):
        evaluate(_with("dev", "loadBalancer", subnetIds=subnets), monitor=monitor)
    assert monitor.program_resources() == []


def test_configured_subnets_outside_the_configured_vpc_are_refused():
    subnets = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
    config = _with("dev", "loadBalancer", vpcId="vpc-0aaaaaaaaaaaaaaaa", subnetIds=subnets)
    with pytest.raises(pulumi.RunError, match="not in loadBalancer.vpcId vpc-0aaaaaaaaaaaaaaaa"):
        evaluate(config)


def test_newer_regions_grant_log_delivery_to_the_service_principal():
    config = load_stack("dev")
    config["aws:region"] = "eu-south-2"
    graph = evaluate(config)
    policy = json.loads(graph.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    assert policy["Statement"][1]["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    assert "aws:elb/getServiceAccount:getServiceAccount" not in graph.invokes


def test_missing_default_vpc_is_a_clear_error_before_anything_is_created():
    mocks = AwsMocks(default_vpc=False)
    monitor = RecordingMonitor(mocks)
    with pytest.raises(pulumi.RunError, match="no default VPC in us-east-1") as info:
        evaluate(load_stack("dev"), mocks=mocks, monitor=monitor)
    assert "loadBalancer.subnetIds" in str(info.value)
    assert monitor.program_resources() == []


def test_disabled_access_logs_create_no_bucket():
    graph = evaluate(_with("dev", "accessLogs", enabled=False, protect=False))
    assert not graph.of_type(BUCKET)
    assert "accessLogs" not in graph.one(LB).inputs
    assert graph.outputs.get("accessLogsBucket") is None


def test_multi_value_headers_and_health_check_reach_the_target_group():
    check = {"enabled": True, "path": "/health", "interval": 60, "timeout": 10, "matcher": "200-299"}
    graph = evaluate(_with("dev", "loadBalancer", multiValueHeaders=True, healthCheck=check))
    tg = graph.one(TG).inputs
    assert tg["lambdaMultiValueHeadersEnabled"] is True
    assert tg["healthCheck"] == {
        "enabled": True,
        "path": "/health",
        "interval": 60,
        "timeout": 10,
        "healthyThreshold": 5,
        "unhealthyThreshold": 2,
        "matcher": "200-299",
    }


def as_set(items: list) -> set[str]:
    """Items compared without their order."""
    return {json.dumps(item, sort_keys=True) for item in items}


def test_fixed_response_default_action_and_every_condition_type():
    config = _with("dev", "loadBalancer", defaultAction={"fixedResponse": {"statusCode": 404, "body": "nope"}})
    config["lambda-alb:routes"] = [
        {"priority": 5, "hosts": ["api.example.com"], "headers": {"x-env": ["beta"]}},
        {"priority": 6, "queryStrings": [{"key": "v", "value": "2"}, {"value": "debug"}], "sourceIps": ["10.0.0.0/8"]},
        {"priority": 7, "methods": ["POST"], "redirect": {"host": "new.example.com", "statusCode": "HTTP_302"}},
    ]
    graph = evaluate(config)
    (listener,) = graph.of_type(LISTENER)
    assert listener.inputs["defaultActions"] == [
        {
            "type": "fixed-response",
            "fixedResponse": {"contentType": "text/plain", "statusCode": "404", "messageBody": "nope"},
        }
    ]
    rules = {r.inputs["priority"]: r.inputs for r in graph.of_type(RULE)}
    # A rule's conditions are a set to AWS (the provider's `condition` is a TypeSet): their order is not compared.
    assert as_set(rules[5]["conditions"]) == as_set(
        [
            {"hostHeader": {"values": ["api.example.com"]}},
            {"httpHeader": {"httpHeaderName": "x-env", "values": ["beta"]}},
        ]
    )
    assert rules[5]["actions"] == [{"type": "forward", "targetGroupArn": graph.outputs["targetGroupArn"]}]
    assert as_set(rules[6]["conditions"]) == as_set(
        [{"sourceIp": {"values": ["10.0.0.0/8"]}}, {"queryStrings": [{"key": "v", "value": "2"}, {"value": "debug"}]}]
    )
    assert rules[7]["actions"] == [
        {"type": "redirect", "redirect": {"statusCode": "HTTP_302", "host": "new.example.com"}}
    ]


def test_reordering_routes_keeps_every_rule_name():
    config = load_stack("prod")
    before = {r.name for r in evaluate(config, "prod", preview=True).of_type(RULE)}
    config["lambda-alb:routes"] = list(reversed(config["lambda-alb:routes"]))
    after = {r.name for r in evaluate(config, "prod", preview=True).of_type(RULE)}
    assert before == after


def function_logs(graph: Graph):
    """The function's own log group (prod also has the WAF's)."""
    return graph.named(f"{graph.outputs['functionName']}-fn-logs")


def test_the_log_bucket_policy_waits_for_the_public_access_block_and_ownership_controls(graph):
    # S3 refuses concurrent configuration changes on one bucket ("conflicting conditional operation").
    policy = graph.one("aws:s3/bucketPolicy:BucketPolicy")
    assert graph.depends_on(policy, graph.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"))
    assert graph.depends_on(policy, graph.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls"))


def test_a_forwarding_listener_waits_for_the_registration_and_a_redirecting_one_does_not(graph):
    # Forwarding to a target group with nothing registered answers 503.
    attachment = graph.one("aws:lb/targetGroupAttachment:TargetGroupAttachment")
    for listener in graph.of_type("aws:lb/listener:Listener"):
        forwards = listener.inputs["defaultActions"][0]["type"] == "forward"
        assert graph.depends_on(listener, attachment) == forwards, listener.name


def test_ephemeral_storage_is_sent_only_when_set():
    graph = evaluate(_with("dev", "function", ephemeralStorage=2048))
    assert graph.one("aws:lambda/function:Function").inputs["ephemeralStorage"] == {"size": 2048}
    default = evaluate(load_stack("dev"))
    assert "ephemeralStorage" not in default.one("aws:lambda/function:Function").inputs
