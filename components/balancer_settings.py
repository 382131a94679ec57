"""The load balancer's settings: ``loadBalancer``, its listeners, security group and health check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field

from . import readers
from . import rules as r
from .function_settings import InputList, InputStr, subnet_list
from .kinds import Custom, Flag, Integer, OneOf, Text, Texts
from .limits import (
    CERT_ARN_RE,
    DEFAULT_ALLOWED_CIDRS,
    DEFAULT_DESYNC_MODE,
    DEFAULT_IDLE_TIMEOUT_S,
    DEFAULT_SSL_POLICY,
    DESYNC_MODES,
    DOMAIN_RE,
    HEALTH_INTERVAL_RANGE_S,
    HEALTH_THRESHOLD_RANGE,
    HEALTH_TIMEOUT_RANGE_S,
    IDLE_TIMEOUT_RANGE_S,
    MATCHER_RE,
    MAX_SG_RULES,
    SSL_POLICIES,
    VPC_RE,
    health_path_problem,
    known,
    matcher_problem,
    must_match,
)
from .model import Block, Report
from .route_settings import DEFAULT_ACTION_SCHEMA, FixedResponseArgs, RedirectArgs, read_default_action


class HealthCheckArgs(Block):
    """Target-group health check; off by default (each check is a billed invocation)."""

    enabled: Annotated[bool, Flag()] = Field(
        default=False, description="Each check is a billed invocation, hence off by default."
    )

    path: Annotated[str, Text(check=health_path_problem, pattern="^/", allowed_text="starts with `/`")] = Field(
        default="/", description="The path the load balancer GETs."
    )

    interval: Annotated[int, Integer(lo=HEALTH_INTERVAL_RANGE_S[0], hi=HEALTH_INTERVAL_RANGE_S[1], unit=" seconds")] = (
        Field(default=35, description="Seconds between checks; more than timeout.")
    )

    timeout: Annotated[int, Integer(lo=HEALTH_TIMEOUT_RANGE_S[0], hi=HEALTH_TIMEOUT_RANGE_S[1], unit=" seconds")] = (
        Field(default=30, description="Seconds a check may take.")
    )

    healthy_threshold: Annotated[int, Integer(lo=HEALTH_THRESHOLD_RANGE[0], hi=HEALTH_THRESHOLD_RANGE[1])] = Field(
        default=5, description="Successes in a row that make the target healthy."
    )

    unhealthy_threshold: Annotated[int, Integer(lo=HEALTH_THRESHOLD_RANGE[0], hi=HEALTH_THRESHOLD_RANGE[1])] = Field(
        default=2, description="Failures in a row that make the target unhealthy."
    )

    matcher: Annotated[
        str,
        Text(
            check=matcher_problem,
            pattern=MATCHER_RE.pattern,
            allowed_text="codes or ranges within 200-499: `200`, `200,204`, `200-299`",
        ),
    ] = Field(default="200", description="The answers that count as healthy.")

    def cross_check(self, report: Report, given: frozenset[str]) -> None:
        """ALB refuses an interval that does not exceed the timeout."""
        path = report.path
        interval, timeout = report.key("interval"), report.key("timeout")
        if (interval in given or timeout in given) and self.interval <= self.timeout:
            report.add(
                f"{path}.{interval}: {self.interval} must be greater than {path}.{timeout} "
                f"({self.timeout}); ALB refuses an interval that does not exceed the timeout"
            )


class LoadBalancerArgs(Block):
    """The load balancer, its listeners and security group: ``loadBalancer``."""

    internal: Annotated[bool, Flag()] = Field(default=False, description="True: reachable only inside the VPC.")

    vpc_id: Annotated[
        InputStr | None,
        Text(
            check=must_match(VPC_RE, "a VPC ID (vpc- and 8 or 17 hex digits)"),
            pattern=VPC_RE.pattern,
            allowed_text="`vpc-...`; requires `subnetIds`",
        ),
    ] = Field(default=None, description="The VPC. Unset: the subnets' VPC, or the default VPC.")

    subnet_ids: Annotated[
        InputList, subnet_list("two or more `subnet-...` IDs of one VPC in different availability zones")
    ] = Field(default=(), description="The load balancer's subnets. Unset: the default VPC's default subnets.")

    allowed_cidrs: Annotated[
        InputList,
        Texts(
            example="203.0.113.0/24",
            check=r.cidr_problem,
            allowed_text="IPv4/IPv6 CIDR blocks (no host bits); at most 60 rules: CIDRs x ports",
        ),
    ] = Field(
        default=DEFAULT_ALLOWED_CIDRS,
        description="Who may connect: the security group opens the listener ports to these only.",
    )

    certificate_arn: Annotated[
        InputStr | None,
        Text(
            check=must_match(CERT_ARN_RE, "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)"),
            pattern=CERT_ARN_RE.pattern,
            allowed_text="an ACM certificate ARN",
        ),
    ] = Field(default=None, description="Serves HTTPS on 443 with this certificate. Unset: HTTP on 80 only.")

    ssl_policy: Annotated[str, OneOf(choices=SSL_POLICIES)] = Field(
        default=DEFAULT_SSL_POLICY,
        description="The HTTPS listener's TLS policy: TLS 1.3 policies that refuse TLS 1.0/1.1; needs certificateArn.",
    )

    http_redirect: Annotated[bool, Flag()] = Field(
        default=True, description="With a certificate: port 80 redirects to 443 with 301; false opens no port 80."
    )

    deletion_protection: Annotated[bool, Flag()] = Field(
        default=True, description="False lets `pulumi destroy` delete the load balancer."
    )

    idle_timeout: Annotated[int, Integer(lo=IDLE_TIMEOUT_RANGE_S[0], hi=IDLE_TIMEOUT_RANGE_S[1], unit=" seconds")] = (
        Field(default=DEFAULT_IDLE_TIMEOUT_S, description="Seconds a connection may stay idle.")
    )

    desync_mitigation_mode: Annotated[str, OneOf(choices=DESYNC_MODES)] = Field(
        default=DEFAULT_DESYNC_MODE, description="How ambiguous requests are treated (monitor is refused)."
    )

    multi_value_headers: Annotated[bool, Flag()] = Field(
        default=False, description="The function gets and must answer multiValueHeaders (repeated headers, cookies)."
    )

    health_check: HealthCheckArgs = Field(
        default=HealthCheckArgs(),
        description="The target group's health check.",
        json_schema_extra={"allowed": "see `healthCheck.*`"},
    )

    default_action: Annotated[
        r.Action | FixedResponseArgs | RedirectArgs | Mapping[str, Any] | str,
        Custom(
            reader=read_default_action,
            json_schema=DEFAULT_ACTION_SCHEMA,
            allowed_text="`forward`, `{fixedResponse: {...}}` or `{redirect: {...}}` (shapes as in routes)",
        ),
    ] = Field(
        default_factory=r.Forward, description="What requests no route matches get: forward to the function by default."
    )

    domain_name: Annotated[
        str | None,
        Custom(
            reader=readers.lower,
            json_schema=readers.DOMAIN_SCHEMA,
            allowed_text="a DNS name inside `hostedZoneName`, e.g. `app.example.com`",
        ),
    ] = Field(
        default=None,
        description="The stack issues an ACM certificate for it, serves HTTPS with it and adds an alias record.",
    )

    hosted_zone_name: Annotated[
        str | None,
        Custom(
            reader=readers.lower,
            json_schema=readers.DOMAIN_SCHEMA,
            allowed_text="a public Route 53 zone, e.g. `example.com`",
        ),
    ] = Field(default=None, description="The zone that holds domainName.")

    @property
    def default(self) -> r.Action:
        """The default action as a listener rule's action (what it is once read)."""
        action = self.default_action
        return action if isinstance(action, r.Forward | r.FixedResponse | r.Redirect) else r.Forward()

    @property
    def https(self) -> bool:
        """True when the serving listener is HTTPS (a certificate, or a domain to get one for)."""
        return self.certificate_arn is not None or self.domain_name is not None

    def listener_ports(self) -> tuple[int, ...]:
        """The ports the load balancer listens on, hence the ports its security group opens."""
        if not self.https:
            return (80,)
        return (80, 443) if self.http_redirect else (443,)

    def cross_check(self, report: Report, given: frozenset[str]) -> None:
        """Subnets, VPC, CIDRs, certificate, TLS policy and domain agree with each other and with AWS."""
        subnets, cidrs = self.subnet_ids, self.allowed_cidrs
        distinct = 0 if report.unresolved(subnets) else len(set(known(subnets)))
        if report.key("subnet_ids") in given - report.bad and not report.unresolved(subnets) and distinct < 2:
            report.add(
                f"{report.at('subnet_ids')}: {distinct} distinct subnet(s); an Application Load Balancer "
                "needs at least two, in different availability zones (or remove the key to use the default VPC's)"
            )
        if report.key("vpc_id") in given and self.vpc_id is not None and report.key("subnet_ids") not in given:
            report.add(
                f"{report.at('subnet_ids')}: required when {report.at('vpc_id')} is set; list at least two subnets of "
                f"that VPC in different availability zones (or remove {report.key('vpc_id')} to use the default VPC)"
            )
        if report.key("allowed_cidrs") in given - report.bad and not report.unresolved(cidrs) and not cidrs:
            report.add(
                f"{report.at('allowed_cidrs')}: empty; nobody could reach the load balancer. Give at least one CIDR"
            )
        self._check_domain(report, given)
        certificate_given = report.key("certificate_arn") in given
        if (
            self.http_redirect is True
            and report.key("http_redirect") in given
            and not self.https
            and not certificate_given
        ):
            report.add(
                f"{report.at('http_redirect')}: true needs {report.at('certificate_arn')} "
                "(there is no HTTPS listener to redirect to)"
            )
        if report.key("ssl_policy") in given and not self.https and not certificate_given:
            report.add(
                f"{report.at('ssl_policy')}: set, but without {report.at('certificate_arn')} "
                "there is no HTTPS listener to use it"
            )
        if not report.unresolved(cidrs):
            cidrs = known(cidrs)
            rules_needed = len(cidrs) * len(self.listener_ports())
            if rules_needed > MAX_SG_RULES:
                report.add(
                    f"{report.at('allowed_cidrs')}: {len(cidrs)} CIDRs x {len(self.listener_ports())} ports = "
                    f"{rules_needed} security-group rules; at most {MAX_SG_RULES} are allowed"
                )

    def _check_domain(self, report: Report, given: frozenset[str]) -> None:
        """domainName and hostedZoneName come together, name a public DNS name inside that zone, and
        replace certificateArn (the certificate is then issued and validated by the stack)."""
        domain, zone = self.domain_name, self.hosted_zone_name
        if domain is None and zone is None:
            return
        for name, value in (("domain_name", domain), ("hosted_zone_name", zone)):
            if value is None:
                other = "hosted_zone_name" if name == "domain_name" else "domain_name"
                report.add(
                    f"{report.at(name)}: missing; {report.at(other)} needs it "
                    "(the certificate is validated in that zone)"
                )
            elif not isinstance(value, str) or not DOMAIN_RE.match(value):
                report.add(f"{report.at(name)}: {value!r} is not a DNS name such as app.example.com")
        both_valid = all(isinstance(v, str) and DOMAIN_RE.match(v) for v in (domain, zone))
        if both_valid and domain != zone and not str(domain).endswith(f".{zone}"):
            report.add(
                f"{report.at('domain_name')}: {domain!r} is outside the zone {zone!r}; "
                f"use a name that ends with .{zone}"
            )
        if report.key("certificate_arn") in given and domain is not None:
            report.add(
                f"{report.at('certificate_arn')}: set with {report.at('domain_name')}; give one "
                "(the domain gets its own certificate)"
            )
