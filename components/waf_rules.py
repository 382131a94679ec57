"""The AWS managed rule groups the web ACL uses, in order, with the names of their rules.

Plain data (no ``pulumi`` import) so the settings can check ``waf.ruleOverrides`` before anything is
created. The rule names are those AWS documents for each group (docs/security.md says where); AWS may
add rules to a group, and an override naming a rule that is not listed here is refused until it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .settings import WafArgs

MANAGED_RULE_GROUPS: dict[str, tuple[str, ...]] = {
    "AWSManagedRulesCommonRuleSet": (
        "NoUserAgent_HEADER",
        "UserAgent_BadBots_HEADER",
        "SizeRestrictions_QUERYSTRING",
        "SizeRestrictions_Cookie_HEADER",
        "SizeRestrictions_BODY",
        "SizeRestrictions_URIPATH",
        "EC2MetaDataSSRF_BODY",
        "EC2MetaDataSSRF_COOKIE",
        "EC2MetaDataSSRF_URIPATH",
        "EC2MetaDataSSRF_QUERYARGUMENTS",
        "GenericLFI_QUERYARGUMENTS",
        "GenericLFI_URIPATH",
        "GenericLFI_BODY",
        "RestrictedExtensions_URIPATH",
        "RestrictedExtensions_QUERYARGUMENTS",
        "GenericRFI_QUERYARGUMENTS",
        "GenericRFI_BODY",
        "GenericRFI_URIPATH",
        "CrossSiteScripting_COOKIE",
        "CrossSiteScripting_QUERYARGUMENTS",
        "CrossSiteScripting_BODY",
        "CrossSiteScripting_URIPATH",
    ),
    "AWSManagedRulesKnownBadInputsRuleSet": (
        "JavaDeserializationRCE_HEADER",
        "JavaDeserializationRCE_BODY",
        "JavaDeserializationRCE_URIPATH",
        "JavaDeserializationRCE_QUERYSTRING",
        "Host_localhost_HEADER",
        "PROPFIND_METHOD",
        "ExploitablePaths_URIPATH",
        "Log4JRCE_HEADER",
        "Log4JRCE_QUERYSTRING",
        "Log4JRCE_BODY",
        "Log4JRCE_URIPATH",
    ),
    "AWSManagedRulesAmazonIpReputationList": (
        "AWSManagedIPReputationList",
        "AWSManagedReconnaissanceList",
        "AWSManagedIPDDoSList",
    ),
    "AWSManagedRulesAnonymousIpList": (
        "AnonymousIPList",
        "HostingProviderIPList",
    ),
}

# Blocks every request from a cloud provider's address ranges, GitHub-hosted runners (our own smoke
# check) and any server-to-server caller included: counted, not blocked, unless a stack says so.
HOSTING_PROVIDER_RULE = ("AWSManagedRulesAnonymousIpList", "HostingProviderIPList")
# Blocks request bodies over 8 KB (what WAF inspects of an ALB request's body): an API that takes
# larger JSON meets it only in the stack with a WAF. waf.largeBodies decides its action.
BODY_SIZE_RULE = ("AWSManagedRulesCommonRuleSet", "SizeRestrictions_BODY")
BODY_SIZE_LIMIT = 8 * 1024


def effective_overrides(waf: WafArgs) -> dict[str, dict[str, str]]:
    """Per managed group, the rules whose action is overridden: the stack's ``ruleOverrides``,
    ``HostingProviderIPList`` counted unless ``blockHostingProviders``, and the 8 KB body rule
    counted unless ``largeBodies: block``."""
    overrides: dict[str, dict[str, str]] = {}
    if not waf.block_hosting_providers:
        group, rule = HOSTING_PROVIDER_RULE
        overrides.setdefault(group, {})[rule] = "count"
    if waf.large_bodies == "count":
        group, rule = BODY_SIZE_RULE
        overrides.setdefault(group, {})[rule] = "count"
    for group, rule, action in waf.rule_overrides:
        overrides.setdefault(group, {})[rule] = action
    return overrides


def blocks_large_bodies(waf: WafArgs) -> bool:
    """Whether the stack's own web ACL blocks a request body over ``BODY_SIZE_LIMIT`` (a shared
    ACL's rules are not the stack's to know)."""
    if not waf.enabled or waf.web_acl_arn:
        return False
    group, rule = BODY_SIZE_RULE
    return effective_overrides(waf).get(group, {}).get(rule, "block") == "block"
