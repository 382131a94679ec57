"""Where the load balancer lives: its subnets, its VPC and its security group."""

from __future__ import annotations

import ipaddress

import pulumi
import pulumi_aws as aws

from components.settings import LoadBalancerSettings


def resolve_network(lb: LoadBalancerSettings, invoke: pulumi.InvokeOptions) -> tuple[pulumi.Input[str], list[str]]:
    """The VPC ID and subnet IDs for the load balancer.

    Configured subnets win; otherwise the default VPC's default subnets (one per availability
    zone). Raises ``pulumi.RunError`` before any resource exists when there is no default VPC.
    Every lookup goes through ``invoke`` (the component's provider).
    """
    if lb.subnet_ids:
        return _configured_subnets(lb, invoke), list(lb.subnet_ids)
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


def _configured_subnets(lb: LoadBalancerSettings, invoke: pulumi.InvokeOptions) -> str:
    """The configured subnets' VPC, after checking they share one VPC and span distinct zones."""
    subnets = [aws.ec2.get_subnet(id=subnet_id, opts=invoke) for subnet_id in lb.subnet_ids]
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
    return lb.vpc_id or subnets[0].vpc_id


def create_security_group(
    name: str, lb: LoadBalancerSettings, vpc_id: pulumi.Input[str], tags: dict[str, str], parent: pulumi.Resource
) -> aws.ec2.SecurityGroup:
    """The load balancer's own group: only the listener ports, only from the allowed CIDRs.

    No egress rule at all: the load balancer reaches a Lambda target through the Lambda service,
    not through the VPC, so it needs no outbound traffic.
    """
    v4 = [c for c in lb.allowed_cidrs if ipaddress.ip_network(c).version == 4]
    v6 = [c for c in lb.allowed_cidrs if ipaddress.ip_network(c).version == 6]
    ingress = [
        aws.ec2.SecurityGroupIngressArgs(
            protocol="tcp",
            from_port=port,
            to_port=port,
            cidr_blocks=v4 or None,
            ipv6_cidr_blocks=v6 or None,
            description=(f"{'HTTPS' if port == 443 else 'HTTP'} listener on {port} from the allowed CIDRs"),
        )
        for port in lb.listener_ports()
    ]
    return aws.ec2.SecurityGroup(
        f"{name}-sg",
        description=f"{name} load balancer: listener ports from the allowed CIDRs only",
        vpc_id=vpc_id,
        ingress=ingress,
        egress=[],
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
