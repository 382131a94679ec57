"""A custom domain: an ACM certificate validated through Route 53, and an alias record."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class Domain:
    """The domain name, its validated certificate (for the HTTPS listener) and the zone that holds it."""

    name: str
    certificate_arn: pulumi.Output[str]
    zone_id: str


def create_certificate(
    name: str,
    domain_name: str,
    zone_name: str,
    tags: dict[str, str],
    invoke: pulumi.InvokeOptions,
    parent: pulumi.Resource,
) -> Domain:
    """Request a DNS-validated certificate for ``domain_name`` and publish its validation record."""
    opts = pulumi.ResourceOptions(parent=parent)
    zone = aws.route53.get_zone(name=zone_name, private_zone=False, opts=invoke)
    certificate = aws.acm.Certificate(
        f"{name}-cert",
        domain_name=domain_name,
        validation_method="DNS",
        tags=tags,
        opts=opts,
    )
    option = certificate.domain_validation_options[0]
    record = aws.route53.Record(
        f"{name}-cert-validation",
        zone_id=zone.zone_id,
        name=option.resource_record_name,
        type=option.resource_record_type,
        records=[option.resource_record_value],
        ttl=300,
        allow_overwrite=True,
        opts=opts,
    )
    # The listener waits for this: ACM issues the certificate only once the record resolves.
    validation = aws.acm.CertificateValidation(
        f"{name}-cert-wait", certificate_arn=certificate.arn, validation_record_fqdns=[record.fqdn], opts=opts
    )
    return Domain(domain_name, validation.certificate_arn, zone.zone_id)


def create_alias_record(
    name: str, domain: Domain, load_balancer: aws.lb.LoadBalancer, parent: pulumi.Resource
) -> aws.route53.Record:
    """The domain's name -> the load balancer (an A alias: free, and follows its addresses)."""
    return aws.route53.Record(
        f"{name}-dns",
        zone_id=domain.zone_id,
        name=domain.name,
        type="A",
        aliases=[
            aws.route53.RecordAliasArgs(
                name=load_balancer.dns_name, zone_id=load_balancer.zone_id, evaluate_target_health=True
            )
        ],
        opts=pulumi.ResourceOptions(parent=parent),
    )
