"""What only a real deploy would show, checked under mocks: tags, secrets, WAF, providers.

Each test here reproduces a defect found by reading the program against the AWS provider's source
and AWS's documentation (mocks accept anything, so nothing else would catch these).
"""

from __future__ import annotations

import importlib
import inspect
import json
from functools import cache

import pulumi
import pytest
from pulumi.runtime import rpc

from components.settings import OWN_TAG_KEYS, SettingsError, parse_settings
from components.waf_rules import MANAGED_RULE_GROUPS
from tests.harness import ACCOUNT, ROOT, AwsMocks, Graph, RecordingMonitor, evaluate, load_stack, with_

FUNCTION = "aws:lambda/function:Function"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"


# --- tags on everything -------------------------------------------------------------------------


@cache
def takes_tags(type_token: str) -> bool:
    """Whether the pulumi-aws resource class behind ``type_token`` accepts ``tags`` (read from the SDK);
    our own dynamic resources (components/pruning.py) make nothing in AWS that could carry one."""
    if not type_token.startswith("aws:"):
        return False
    _, module, name = type_token.split(":")
    package = module.split("/")[0]
    package = "lambda_" if package == "lambda" else package
    cls = getattr(importlib.import_module(f"pulumi_aws.{package}"), name)
    return "tags" in inspect.signature(cls._internal_init).parameters


def variants() -> dict[str, Graph]:
    """Both stacks and the options that add resources of their own."""
    domain = with_("prod", loadBalancer={"domainName": "app.example.com", "hostedZoneName": "example.com"})
    domain["lambda-alb:loadBalancer"].pop("certificateArn")
    return {
        "dev": evaluate(load_stack("dev"), "dev"),
        "prod": evaluate(load_stack("prod"), "prod", preview=True),
        "prod-domain-canary-email": evaluate(
            {
                **domain,
                "lambda-alb:function": {**domain["lambda-alb:function"], "canaryWeight": 5, "stableVersion": "3"},
                "lambda-alb:monitoring": {"alarms": True, "dashboard": True, "alarmEmail": "oncall@example.com"},
            },
            "prod",
        ),
        "dev-team-tags": evaluate(with_("dev", tags={"cost-centre": "1234", "owner": "team-a"}), "dev"),
    }


@pytest.fixture(scope="module")
def graphs() -> dict[str, Graph]:
    return variants()


def test_every_taggable_resource_carries_project_stack_and_managed_by(graphs):
    checked = set()
    for variant, graph in graphs.items():
        stack = "dev" if variant.startswith("dev") else "prod"
        for resource in graph.registrations:
            if not resource.custom or not takes_tags(resource.type):
                continue
            checked.add(resource.type)
            tags = resource.inputs.get("tags") or {}
            expected = {"project": "lambda-alb", "stack": stack, "managed-by": "pulumi"}
            assert {k: tags.get(k) for k in OWN_TAG_KEYS} == expected, (variant, resource.name)
    # The derivation sees the resources that matter for cost and for scoping the pipeline's roles.
    assert {FUNCTION, "aws:lb/loadBalancer:LoadBalancer", "aws:ec2/securityGroup:SecurityGroup", WEB_ACL,
            "aws:kms/key:Key", "aws:acm/certificate:Certificate", "aws:s3/bucket:Bucket"} <= checked  # fmt: skip


def test_a_teams_own_tags_reach_every_taggable_resource(graphs):
    graph = graphs["dev-team-tags"]
    tagged = [r for r in graph.registrations if r.custom and takes_tags(r.type)]
    assert tagged
    for resource in tagged:
        assert resource.inputs["tags"]["cost-centre"] == "1234", resource.name
        assert resource.inputs["tags"]["owner"] == "team-a", resource.name


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"stack": "prod"}, "tags.stack: set by the component itself"),
        ({"aws:cloudformation": "x"}, "tags.aws:cloudformation: keys starting with aws: are reserved"),
        ({"owner": 7}, "tags.owner: 7 is not a string"),
        ({"k" * 129: "v"}, "not a tag key; use 1-128 characters"),
        ({"owner": "v" * 257}, "is not a tag value; use at most 256 characters"),
        ({"owner": "a;b"}, "tags.owner: 'a;b' is not a tag value"),
        ({f"k{i}": "v" for i in range(48)}, "tags: 48 tags plus the component's 3"),
        (["owner"], "tags: ['owner'] is not a map of tag keys to values"),
    ],
)
def test_bad_tags_are_refused_by_name(tags, expected):
    with pytest.raises(SettingsError) as info:
        parse_settings({"tags": tags})
    assert any(expected in p for p in info.value.problems), info.value.problems


def test_forty_seven_team_tags_fit_with_ours():
    assert len(parse_settings({"tags": {f"k{i}": "v" for i in range(47)}}).tags) == 47


# --- secrets stay secret ------------------------------------------------------------------------


STACK_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0000-dev"


def test_a_secret_in_the_function_environment_reaches_the_function_as_a_secret_under_the_stacks_key():
    environment = {"APP_ENV": "dev", "API_TOKEN": "s3cr3t-value"}
    config = with_("dev", function={"environment": environment, "kmsKeyArn": STACK_KEY})
    graph = evaluate(config, "dev", secret_keys=["lambda-alb:function"])
    function = graph.one(FUNCTION).inputs
    assert rpc.is_rpc_secret(function["environment"])
    assert rpc.unwrap_rpc_secret(function["environment"])["variables"]["API_TOKEN"] == "s3cr3t-value"
    # Only principals allowed to use the key read the variables; the function's role is one of them.
    assert function["kmsKeyArn"] == STACK_KEY
    policy = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    assert {"Sid": "DecryptOwnVariables", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": STACK_KEY} in (
        policy["Statement"]
    )


def test_a_secret_variable_without_a_customer_managed_key_is_refused_before_anything_is_created():
    """With Lambda's AWS-managed key, lambda:GetFunctionConfiguration (a preview role) returns it in clear."""
    monitor = RecordingMonitor(AwsMocks())
    config = with_("dev", function={"environment": {"API_TOKEN": "s3cr3t-value"}})
    with pytest.raises(pulumi.RunError, match=r"function.environment: holds a secret value, but function.kmsKeyArn"):
        evaluate(config, "dev", monitor=monitor, secret_keys=["lambda-alb:function"])
    assert monitor.program_resources() == []


def test_without_a_secret_the_environment_stays_readable_in_previews(dev):
    assert not rpc.is_rpc_secret(dev.one(FUNCTION).inputs["environment"])


def test_a_secret_outside_the_function_environment_is_refused_before_anything_is_created():
    monitor = RecordingMonitor(AwsMocks())
    with pytest.raises(pulumi.RunError, match="monitoring: holds a secret value; only function.environment"):
        evaluate(load_stack("prod"), "prod", monitor=monitor, preview=True, secret_keys=["lambda-alb:monitoring"])
    assert monitor.program_resources() == []


# --- a WAF that lets legitimate clients in ------------------------------------------------------


def overrides_of(graph: Graph) -> dict[str, dict[str, str]]:
    """Per managed group, the rules whose action the web ACL overrides, and to what."""
    found = {}
    for rule in graph.one(WEB_ACL).inputs["rules"]:
        statement = rule["statement"].get("managedRuleGroupStatement")
        if statement:
            found[statement["name"]] = {
                o["name"]: next(iter(o["actionToUse"])) for o in statement.get("ruleActionOverrides", [])
            }
    return found


def test_hosting_provider_addresses_and_large_bodies_are_counted_not_blocked_by_default(prod):
    # GitHub-hosted runners (the prod smoke check) and server-to-server callers live on those ranges;
    # an API taking JSON over 8 KB would otherwise first meet a 403 in prod (issue 17).
    overrides = overrides_of(prod)
    assert overrides.pop("AWSManagedRulesAnonymousIpList") == {"HostingProviderIPList": "count"}
    assert overrides.pop("AWSManagedRulesCommonRuleSet") == {"SizeRestrictions_BODY": "count"}
    assert all(not rules for rules in overrides.values())


def test_large_bodies_block_leaves_awss_body_size_rule_as_it_is():
    overrides = overrides_of(evaluate(with_("prod", waf={"largeBodies": "block"}), "prod", preview=True))
    assert overrides["AWSManagedRulesCommonRuleSet"] == {}


def test_a_stack_may_block_hosting_providers_and_override_other_managed_rules():
    overrides = {"AWSManagedRulesCommonRuleSet": {"SizeRestrictions_BODY": "count"}}
    config = with_("prod", waf={"blockHostingProviders": True, "ruleOverrides": overrides})
    overrides = overrides_of(evaluate(config, "prod", preview=True))
    assert overrides["AWSManagedRulesAnonymousIpList"] == {}
    assert overrides["AWSManagedRulesCommonRuleSet"] == {"SizeRestrictions_BODY": "count"}


@pytest.mark.parametrize(
    ("waf", "expected"),
    [
        ({"ruleOverrides": {"AWSManagedRulesCommonRuleSet": {"SizeRestriction_BODY": "count"}}},
         "waf.ruleOverrides.AWSManagedRulesCommonRuleSet.SizeRestriction_BODY: not a rule of "
         "AWSManagedRulesCommonRuleSet (did you mean 'SizeRestrictions_BODY'?)"),
        ({"ruleOverrides": {"AWSManagedRulesSQLiRuleSet": {"SQLi_BODY": "count"}}},
         "waf.ruleOverrides.AWSManagedRulesSQLiRuleSet: not a rule group of the web ACL"),
        ({"ruleOverrides": {"AWSManagedRulesAnonymousIpList": {"AnonymousIPList": "ignore"}}},
         "waf.ruleOverrides.AWSManagedRulesAnonymousIpList.AnonymousIPList: 'ignore' is not an action"),
        ({"blockHostingProviders": True,
          "ruleOverrides": {"AWSManagedRulesAnonymousIpList": {"HostingProviderIPList": "block"}}},
         "waf.blockHostingProviders: set together with waf.ruleOverrides"),
        ({"webAclArn": "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/shared/abc-123",
          "blockHostingProviders": True},
         "waf.webAclArn: an existing web ACL keeps its own rules and logging; remove blockHostingProviders"),
    ],
)  # fmt: skip
def test_bad_waf_overrides_are_refused_by_name(waf, expected):
    with pytest.raises(SettingsError) as info:
        parse_settings({"waf": {"enabled": True, **waf}})
    assert any(expected in p for p in info.value.problems), info.value.problems


def test_every_managed_group_the_acl_uses_has_its_rules_listed(prod):
    assert set(overrides_of(prod)) == set(MANAGED_RULE_GROUPS)


# --- lookups on the component's provider --------------------------------------------------------

OTHER_REGION_PROGRAM = ROOT / "tests" / "programs" / "other_region"


@pytest.mark.parametrize("style", ["provider", "providers"])
def test_every_lookup_goes_to_the_components_provider_and_its_region(style):
    mocks = AwsMocks(region="us-east-1", provider_regions={"eu": "eu-west-1"})
    graph = evaluate({"test:style": style}, "dev", mocks, program_dir=OTHER_REGION_PROGRAM)
    assert mocks.invoke_providers, "the component made no lookup"
    for token, provider in mocks.invoke_providers:
        assert "pulumi:providers:aws::eu::" in provider, (token, provider)
    policy = json.loads(graph.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    principals = json.dumps([s.get("Principal") for s in policy["Statement"]])
    assert "156460612806" in principals  # Elastic Load Balancing's account in eu-west-1
    assert "127311923021" not in principals  # ... not us-east-1's
    assert graph.outputs["dashboardUrl"].startswith("https://eu-west-1.console.aws.amazon.com/")
