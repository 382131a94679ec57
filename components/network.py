"""Where the load balancer lives: its subnets, its VPC and its security group."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from .limits import known, known_str
from .settings import LoadBalancerArgs


def resolve_network(
    lb: LoadBalancerArgs, invoke: pulumi.InvokeOptions
) -> tuple[pulumi.Input[str], pulumi.Input[Sequence[str]]]:
    """The VPC ID and subnet IDs for the load balancer.

    Configured subnets win; otherwise the default VPC's default subnets (one per availability
    zone). Raises ``pulumi.RunError`` before any resource exists when there is no default VPC.
    Every lookup goes through ``invoke`` (the component's provider).
    """
    if holds_output(lb.subnet_ids):
        # Subnets made in the same program: nothing to look up yet. AWS checks zones on create.
        subnet_ids: Any = lb.subnet_ids
        return lb.vpc_id or vpc_of_subnets(subnet_ids, invoke), subnet_ids
    if lb.subnet_ids:
        return _configured_subnets(lb, invoke), list(known(lb.subnet_ids))
    # get_vpcs answers an empty list where get_vpc(default=True) would fail the whole program
    # with the provider's own error and a stack trace.
    default_vpcs = aws.ec2.get_vpcs(
        filters=[aws.ec2.GetVpcsFilterArgs(name="is-default", values=["true"])], opts=invoke
    ).ids
    if not default_vpcs:
        region = aws.get_region(opts=invoke).region
        raise pulumi.RunError(
            f"loadBalancer.subnetIds: not set, and there is no default VPC in {region} to take subnets "
            "from. Set loadBalancer.vpcId and loadBalancer.subnetIds (two or more subnets in different "
            "availability zones), or create a default VPC with `aws ec2 create-default-vpc`."
        )
    vpc_id = default_vpcs[0]
    found = aws.ec2.get_subnets(
        filters=[
            aws.ec2.GetSubnetsFilterArgs(name="vpc-id", values=[vpc_id]),
            aws.ec2.GetSubnetsFilterArgs(name="default-for-az", values=["true"]),
        ],
        opts=invoke,
    )
    ids = sorted(found.ids)
    if len(ids) < 2:
        region = aws.get_region(opts=invoke).region
        raise pulumi.RunError(
            f"loadBalancer.subnetIds: not set, and the default VPC {vpc_id} in {region} has "
            f"{len(ids)} default subnet(s); an Application Load Balancer needs at least two in "
            "different availability zones. Set loadBalancer.subnetIds."
        )
    return vpc_id, ids


def holds_output(value: object) -> bool:
    """An Output, or a list, tuple or map holding one: known only when the program runs (another
    resource's value). Its secrecy, if any, travels with it."""
    if isinstance(value, pulumi.Output):
        return True
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list | tuple) else ()
    return any(isinstance(v, pulumi.Output) for v in items)


def vpc_of_subnets(subnet_ids: Any, invoke: pulumi.InvokeOptions) -> pulumi.Output[str]:
    """The VPC of the first of ``subnet_ids`` (a list, or an Output of one), looked up through
    ``invoke``; subnets of different VPCs are AWS's to refuse when the resource is created."""
    first = subnet_ids.apply(lambda ids: ids[0]) if isinstance(subnet_ids, pulumi.Output) else subnet_ids[0]
    return aws.ec2.get_subnet_output(id=first, opts=invoke).vpc_id


def _configured_subnets(lb: LoadBalancerArgs, invoke: pulumi.InvokeOptions) -> str:
    """The configured subnets' VPC, after checking they share one VPC and span distinct zones."""
    subnets = [aws.ec2.get_subnet(id=subnet_id, opts=invoke) for subnet_id in known(lb.subnet_ids)]
    problems = []
    vpcs = {s.vpc_id for s in subnets}
    if lb.vpc_id and vpcs != {lb.vpc_id}:
        outside = [s.id for s in subnets if s.vpc_id != lb.vpc_id]
        problems.append(f"loadBalancer.subnetIds: {', '.join(outside)} not in loadBalancer.vpcId {lb.vpc_id}")
    elif len(vpcs) > 1:
        problems.append(f"loadBalancer.subnetIds: the subnets are in several VPCs ({', '.join(sorted(vpcs))})")
    zones = {s.availability_zone for s in subnets}
    if len(zones) < 2:
        problems.append(
            f"loadBalancer.subnetIds: all in {', '.join(sorted(zones))}; an Application Load Balancer needs "
            "subnets in at least two availability zones"
        )
    if problems:
        raise pulumi.RunError("\n".join(problems))
    return known_str(lb.vpc_id) if lb.vpc_id else subnets[0].vpc_id


def ingress_rules(cidrs: list[str], ports: tuple[int, ...]) -> list[aws.ec2.SecurityGroupIngressArgs]:
    """One rule per listener port, from the allowed IPv4 and IPv6 blocks."""
    return port_rules(aws.ec2.SecurityGroupIngressArgs, cidrs, ports, "from the allowed CIDRs", listener=True)


def port_rules(rule: type, cidrs: list[str], ports: tuple[int, ...], what: str, listener: bool = False) -> list[Any]:
    """One TCP rule per port (``rule`` is the SDK's ingress or egress args class), IPv4 and IPv6."""
    v4 = [c for c in cidrs if ipaddress.ip_network(c).version == 4]
    v6 = [c for c in cidrs if ipaddress.ip_network(c).version == 6]

    def describe(port: int) -> str:
        kind = ("HTTPS listener" if port == 443 else "HTTP listener") if listener else "TCP"
        return f"{kind} on {port} {what}"

    return [
        rule(
            protocol="tcp",
            from_port=port,
            to_port=port,
            cidr_blocks=v4 or None,
            ipv6_cidr_blocks=v6 or None,
            description=describe(port),
        )
        for port in ports
    ]


def create_security_group(
    name: str, lb: LoadBalancerArgs, vpc_id: pulumi.Input[str], tags: dict[str, str], parent: pulumi.Resource
) -> aws.ec2.SecurityGroup:
    """The load balancer's own group: only the listener ports, only from the allowed CIDRs.

    No egress rule at all: the load balancer reaches a Lambda target through the Lambda service,
    not through the VPC, so it needs no outbound traffic.
    """
    ports = lb.listener_ports()
    ingress: pulumi.Input[list[aws.ec2.SecurityGroupIngressArgs]]
    if holds_output(lb.allowed_cidrs):
        cidrs: Any = lb.allowed_cidrs
        ingress = pulumi.Output.from_input(cidrs).apply(lambda cidrs: ingress_rules(list(cidrs), ports))
    else:
        ingress = ingress_rules(list(known(lb.allowed_cidrs)), ports)
    return aws.ec2.SecurityGroup(
        f"{name}-sg",
        description=f"{name} load balancer: listener ports from the allowed CIDRs only",
        vpc_id=vpc_id,
        ingress=ingress,
        egress=[],
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
