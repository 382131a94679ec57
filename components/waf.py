"""A WAFv2 web ACL in front of the load balancer, with its logging; or an existing ACL associated."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from .log_groups import kept_log_group
from .settings import WafArgs
from .waf_rules import MANAGED_RULE_GROUPS, effective_overrides

REDACTED_HEADERS = ("authorization", "cookie")


def _visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgs:
    return aws.wafv2.WebAclVisibilityConfigArgs(
        cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


def _rule_visibility(metric: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
    return aws.wafv2.WebAclRuleVisibilityConfigArgs(
        cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


def _action_to_use(
    action: str,
) -> aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseArgs:
    classes = {
        "allow": aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseAllowArgs,
        "block": aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseBlockArgs,
        "count": aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseCountArgs,
        "captcha": aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseCaptchaArgs,
        "challenge": aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseChallengeArgs,
    }
    return aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseArgs(
        **{action: classes[action]()}
    )


def web_acl_rules(name: str, waf: WafArgs) -> list[aws.wafv2.WebAclRuleArgs]:
    """The rate limit first (cheapest to evaluate), then AWS's managed rule groups."""
    rate_limit = waf.rate_limit
    overrides = effective_overrides(waf)
    rules = [
        aws.wafv2.WebAclRuleArgs(
            name="rate-limit-per-ip",
            priority=0,
            action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
            statement=aws.wafv2.WebAclRuleStatementArgs(
                rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                    limit=rate_limit, aggregate_key_type="IP"
                )
            ),
            visibility_config=_rule_visibility(f"{name}-rate-limit"),
        )
    ]
    for priority, group in enumerate(MANAGED_RULE_GROUPS, start=1):
        rules.append(
            aws.wafv2.WebAclRuleArgs(
                name=group,
                priority=priority,
                override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
                    # The SDK's no-field class has an unannotated constructor.
                    none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()  # type: ignore[no-untyped-call]
                ),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                        vendor_name="AWS",
                        name=group,
                        rule_action_overrides=[
                            aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgs(
                                name=rule, action_to_use=_action_to_use(action)
                            )
                            for rule, action in sorted(overrides.get(group, {}).items())
                        ]
                        or None,
                    )
                ),
                visibility_config=_rule_visibility(f"{name}-{group}"),
            )
        )
    return rules


def create_waf(
    name: str,
    waf: WafArgs,
    load_balancer: aws.lb.LoadBalancer,
    tags: dict[str, str],
    invoke: pulumi.InvokeOptions,
    parent: pulumi.Resource,
) -> pulumi.Output[str]:
    """Associate a web ACL with the load balancer; returns the ACL's ARN."""
    opts = pulumi.ResourceOptions(parent=parent)
    if waf.web_acl_arn:
        acl_arn: pulumi.Input[str] = waf.web_acl_arn
    else:
        acl = aws.wafv2.WebAcl(
            f"{name}-waf",
            scope="REGIONAL",
            description=f"{name}: rate limit and AWS managed rules",
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            rules=web_acl_rules(name, waf),
            visibility_config=_visibility(f"{name}-waf"),
            tags=tags,
            opts=opts,
        )
        # WAF only logs to a log group whose name starts with aws-waf-logs-.
        # Turning the WAF off keeps a year of request logs unless the stack file says otherwise; on
        # again, the kept group is adopted (components/log_groups.py).
        log_group = kept_log_group(
            f"{name}-waf-logs",
            f"aws-waf-logs-{name}",
            waf.log_retention_days,
            tags,
            not waf.delete_logs_with_acl,
            invoke,
            parent,
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-waf-logging",
            resource_arn=acl.arn,
            log_destination_configs=[log_group.arn],
            redacted_fields=[
                aws.wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
                    single_header=aws.wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(name=header)
                )
                for header in REDACTED_HEADERS
            ],
            opts=opts,
        )
        acl_arn = acl.arn
    aws.wafv2.WebAclAssociation(
        f"{name}-waf-association",
        resource_arn=load_balancer.arn,
        web_acl_arn=acl_arn,
        # A load balancer has one web ACL, and a new ACL replaces the association: created first,
        # the old one's delete would then remove the new ACL from the load balancer.
        opts=pulumi.ResourceOptions(parent=parent, delete_before_replace=True),
    )
    return pulumi.Output.from_input(acl_arn)
