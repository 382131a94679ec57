"""The access-log bucket policy's principal and resource, region by region."""

import json

import pytest

from components.elb_principal import access_log_bucket_policy, elb_log_principal, log_object_arn


@pytest.mark.parametrize(
    ("region", "principal"),
    [
        ("us-east-1", {"AWS": "arn:aws:iam::127311923021:root"}),
        ("eu-west-1", {"AWS": "arn:aws:iam::156460612806:root"}),
        ("eu-south-2", {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}),
        ("ap-southeast-4", {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}),
    ],
)
def test_old_regions_use_their_elb_account_new_ones_the_service_principal(region, principal):
    assert elb_log_principal(region) == principal


def test_govcloud_uses_its_partition():
    assert elb_log_principal("us-gov-west-1", "aws-us-gov") == {"AWS": "arn:aws-us-gov:iam::048591011584:root"}


def test_log_objects_sit_under_prefix_awslogs_account():
    assert log_object_arn("arn:aws:s3:::b", "alb", "123456789012") == "arn:aws:s3:::b/alb/AWSLogs/123456789012/*"
    assert log_object_arn("arn:aws:s3:::b", "", "123456789012") == "arn:aws:s3:::b/AWSLogs/123456789012/*"


def test_policy_grants_only_put_object_and_denies_insecure_transport():
    policy = json.loads(access_log_bucket_policy("arn:aws:s3:::b", "p", "123456789012", "eu-south-2"))
    actions = {s["Sid"]: (s["Effect"], s["Action"]) for s in policy["Statement"]}
    assert actions == {
        "DenyInsecureTransport": ("Deny", "s3:*"),
        "AllowElbAccessLogDelivery": ("Allow", "s3:PutObject"),
    }
