"""Price a stack's resource graph: one line per billed thing that exists in the graph.

Plain arithmetic over the graph (``costs.graph``) and ``prices.json``; the assumptions about
traffic are explicit arguments, each with a default a reader can see in the output.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from costs.graph import Graph, Registration

PRICES_FILE = Path(__file__).resolve().parent / "prices.json"

LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
FUNCTION = "aws:lambda/function:Function"
PROVISIONED = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
KMS_KEY = "aws:kms/key:Key"
BUCKET = "aws:s3/bucket:Bucket"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"

# ALB capacity units (LCU): what one LCU covers per dimension, for Lambda targets.
LCU_NEW_CONNECTIONS_PER_S = 25
LCU_GB_PER_HOUR_LAMBDA = 0.4
LCU_RULE_EVALUATIONS_PER_S = 1000
FREE_RULES = 10  # the first 10 rule evaluations of a request are not counted
ALB_LOG_WRITES_PER_HOUR = 12  # each load balancer node delivers its log file every 5 minutes


class UnknownRegion(Exception):
    """No prices for the stack's region: we say so rather than guess."""


@dataclass(frozen=True)
class Assumptions:
    """The traffic the estimate assumes; every field is a command-line option."""

    requests_per_month: int = 1_000_000
    duration_ms: float = 50.0  # average billed duration of one invocation
    bytes_per_request: int = 2_000  # request plus response, through the load balancer
    requests_per_connection: float = 1.0  # new TLS/TCP connections: one per request at worst
    function_log_bytes: int = 400  # per invocation: our JSON line plus Lambda's START/END/REPORT
    waf_log_bytes: int = 1_500  # per request inspected by the web ACL
    access_log_bytes: int = 150  # per request, as stored (ALB gzips its access-log files)
    zones: int = 3  # subnets (zones) of the default VPC, when the stack does not list its own


@dataclass(frozen=True)
class Item:
    """One priced line: what, how much of it, and the monthly price."""

    key: str  # stable across base and head, for the comparison
    label: str
    quantity: float
    unit: str
    usd: float


@dataclass
class Estimate:
    """A stack's monthly estimate."""

    stack: str
    region: str
    assumptions: Assumptions
    items: list[Item] = field(default_factory=list)
    # What the stack has that costs money but the price file does not price yet (said, not guessed).
    not_priced: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        """The monthly total in USD."""
        return sum(i.usd for i in self.items)

    def to_json(self) -> str:
        """The estimate as JSON (what `compare` reads)."""
        return json.dumps({**asdict(self), "total": self.total}, indent=2)


def load_prices(region: str, path: Path | None = None) -> tuple[dict[str, Any], float]:
    """The region's prices and the hours in a month; ``UnknownRegion`` when the file has none."""
    path = path or PRICES_FILE
    data = json.loads(path.read_text())
    if region not in data["regions"]:
        known = ", ".join(sorted(data["regions"]))
        raise UnknownRegion(
            f"no prices for region {region!r} in {path.name} (it has {known}); add the region's prices from the "
            "AWS pricing pages, with their source, rather than reading another region's"
        )
    return data["regions"][region], float(data["hoursPerMonth"])


def _usd(price: dict[str, Any]) -> float:
    return float(price["usd"])


def _lcu(graph: Graph, a: Assumptions, hours: float) -> float:
    """Average LCUs: the largest of the dimensions (ALB bills each hour's largest)."""
    per_second = a.requests_per_month / (hours * 3600)
    connections = per_second / a.requests_per_connection / LCU_NEW_CONNECTIONS_PER_S
    processed = a.requests_per_month / hours * a.bytes_per_request / 1e9 / LCU_GB_PER_HOUR_LAMBDA
    rules = len(graph.of_type(LISTENER_RULE))
    evaluations = per_second * max(0, rules - FREE_RULES) / LCU_RULE_EVALUATIONS_PER_S
    return max(connections, processed, evaluations)


def _health_checks_per_month(graph: Graph, zones: int, hours: float) -> float:
    """Health checks of a Lambda target are invocations: one per interval per load balancer node."""
    total = 0.0
    for tg in graph.of_type(TARGET_GROUP):
        check = tg.inputs.get("healthCheck") or {}
        if check.get("enabled"):
            total += hours * 3600 / float(check.get("interval") or 35) * zones
    return total


def _zones(lb: Registration, a: Assumptions) -> int:
    return len(lb.inputs.get("subnets") or lb.inputs.get("subnetMappings") or []) or a.zones


def estimate(graph: Graph, stack: str, region: str, a: Assumptions) -> Estimate:
    """Every price item of the stack's graph, for a month of the assumed traffic."""
    p, hours = load_prices(region)
    result = Estimate(stack, region, a)
    add = result.items.append
    zones = a.zones
    for lb in graph.of_type(LOAD_BALANCER):
        zones = _zones(lb, a)
        add(Item("alb-hours", "Load balancer hours", hours, "hours", hours * _usd(p["albHour"])))
        lcu = _lcu(graph, a, hours)
        add(
            Item(
                "alb-lcu", "Load balancer capacity units", lcu * hours, "LCU-hours", lcu * hours * _usd(p["albLcuHour"])
            )
        )
        if not lb.inputs.get("internal"):
            add(Item("public-ipv4", "Public IPv4 addresses (one per zone)", zones, "addresses",
                     zones * hours * _usd(p["publicIpv4Hour"])))  # fmt: skip
    # The functions behind the load balancer (each has its `live` alias): a release's checks
    # (function.deployment) run a few invocations per deploy, which costs nothing measurable.
    served = {alias.inputs.get("functionName") for alias in graph.of_type("aws:lambda/alias:Alias")}
    functions = [fn for fn in graph.of_type(FUNCTION) if fn.inputs.get("name") in served]
    # With several functions (behind one load balancer), the assumed requests are shared evenly.
    all_health_checks = _health_checks_per_month(graph, zones, hours)
    invocations = a.requests_per_month + all_health_checks
    share = a.requests_per_month / max(len(functions), 1)
    health_checks = all_health_checks / max(len(functions), 1)
    for fn in functions:
        architecture = (fn.inputs.get("architectures") or ["x86_64"])[0]
        memory_gb = float(fn.inputs.get("memorySize") or 128) / 1024
        calls = share + health_checks
        gb_seconds = calls * a.duration_ms / 1000 * memory_gb
        of = "" if len(functions) == 1 else f":{fn.inputs.get('name', fn.name)}"
        named = "" if len(functions) == 1 else f", {fn.inputs.get('name', fn.name)}"
        add(Item(f"lambda-requests{of}", f"Lambda requests (health checks included{named})", calls, "requests",
                 calls / 1e6 * _usd(p["lambdaRequestsPerMillion"])))  # fmt: skip
        add(Item(f"lambda-duration{of}", f"Lambda duration ({architecture}, {memory_gb * 1024:.0f} MB{named})",
                 gb_seconds, "GB-seconds", gb_seconds * float(p["lambdaGbSecond"][architecture])))  # fmt: skip
    by_name = {fn.inputs.get("name", fn.name): fn for fn in functions}
    for config in graph.of_type(PROVISIONED):
        name = config.inputs.get("functionName")
        instances = int(config.inputs.get("provisionedConcurrentExecutions") or 0)
        warmed = by_name.get(name)
        if warmed is None or "lambdaProvisionedGbSecond" not in p:
            result.not_priced.append(
                f"provisioned concurrency of {name} ({instances} instances): see docs/operations.md"
            )
            continue
        architecture = (warmed.inputs.get("architectures") or ["x86_64"])[0]
        memory_gb = float(warmed.inputs.get("memorySize") or 128) / 1024
        gb_seconds = instances * memory_gb * hours * 3600
        # Billed whether used or not. Requests served by these instances are billed at a lower duration
        # rate than on demand; the duration line above prices them all on demand (an upper bound).
        label = f"Lambda provisioned concurrency ({instances} x {memory_gb * 1024:.0f} MB {architecture}, all month)"
        add(Item(f"lambda-provisioned:{name}", f"{label}, {name}", gb_seconds, "GB-seconds",
                 gb_seconds * float(p["lambdaProvisionedGbSecond"][architecture])))  # fmt: skip
    waf_requests = a.requests_per_month if graph.of_type(WEB_ACL) else 0
    for group in graph.of_type(LOG_GROUP):
        name = str(group.inputs.get("name", group.name))
        per_request = a.function_log_bytes if name.startswith("/aws/lambda/") else 0
        events = invocations
        if name.startswith("aws-waf-logs-"):
            per_request, events = a.waf_log_bytes, waf_requests
        gb = events * per_request / 1e9
        stored = gb * float(group.inputs.get("retentionInDays") or 3650) / 30
        add(Item(f"logs-ingestion:{name}", f"CloudWatch Logs ingestion, {name}", gb, "GB",
                 gb * _usd(p["logsIngestionGb"])))  # fmt: skip
        add(Item(f"logs-storage:{name}", f"CloudWatch Logs storage, {name} (at its retention)", stored, "GB-months",
                 stored * _usd(p["logsStorageGbMonth"])))  # fmt: skip
    alarms = graph.of_type(ALARM)
    if alarms:
        high = sum(1 for alarm in alarms if float(alarm.inputs.get("period") or 60) < 60)
        usd = (len(alarms) - high) * _usd(p["alarmMonth"]) + high * _usd(p["highResolutionAlarmMonth"])
        add(Item("alarms", "CloudWatch alarms", len(alarms), "alarms", usd))
    dashboards = graph.of_type(DASHBOARD)
    if dashboards:
        add(Item("dashboards", "CloudWatch dashboards", len(dashboards), "dashboards",
                 len(dashboards) * _usd(p["dashboardMonth"])))  # fmt: skip
    for acl in graph.of_type(WEB_ACL):
        rules = len(acl.inputs.get("rules") or [])
        add(Item("waf-acl", "WAF web ACL", 1, "web ACLs", _usd(p["wafWebAclMonth"])))
        add(Item("waf-rules", "WAF rules and managed rule groups", rules, "rules", rules * _usd(p["wafRuleMonth"])))
        add(Item("waf-requests", "WAF requests inspected", waf_requests, "requests",
                 waf_requests / 1e6 * _usd(p["wafRequestsPerMillion"])))  # fmt: skip
    keys = graph.of_type(KMS_KEY)
    if keys:
        add(Item("kms-keys", "KMS keys (first year)", len(keys), "keys", len(keys) * _usd(p["kmsKeyMonth"])))
    for bucket in graph.of_type(BUCKET):
        days = _expiration_days(graph, bucket)
        gb = a.requests_per_month * a.access_log_bytes / 1e9 * days / 30
        puts = ALB_LOG_WRITES_PER_HOUR * zones * hours
        add(Item("s3-log-storage", "S3 access-log storage (at its expiry)", gb, "GB-months",
                 gb * _usd(p["s3StorageGbMonth"])))  # fmt: skip
        add(
            Item("s3-log-puts", "S3 access-log writes", puts, "PUT requests", puts / 1000 * _usd(p["s3PutPerThousand"]))
        )
    return result


def _expiration_days(graph: Graph, bucket: Registration) -> float:
    """How long the bucket keeps its objects: its lifecycle rule's expiry, else ten years."""
    for rule in graph.of_type(LIFECYCLE):
        if graph.depends_on(rule, bucket):
            for r in rule.inputs.get("rules") or []:
                days = (r.get("expiration") or {}).get("days")
                if r.get("status") == "Enabled" and days:
                    return float(days)
    return 3650.0
