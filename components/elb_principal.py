"""Who writes a region's ALB access logs, and the log bucket's policy document.

Plain Python (no ``pulumi`` import): given the bucket ARN, prefix, account, region and partition,
``access_log_bucket_policy`` returns the policy JSON. Facts in docs/alb-behaviour.md#access-logs and
#regional-elb-accounts.
"""

from __future__ import annotations

import json
from typing import Any

# Regions opened before August 2022 grant log delivery to a regional Elastic Load Balancing
# account; every other region to the log-delivery service principal. (The provider's
# get_service_account lookup fails outside this table, e.g. in eu-south-2.)
ELB_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-south-1": "718504428378",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-southeast-3": "589379963580",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "eu-south-1": "635631232127",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-gov-west-1": "048591011584",
    "us-gov-east-1": "190560391635",
}
LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"


def elb_log_principal(region: str, partition: str = "aws") -> dict[str, Any]:
    """The IAM principal that delivers ALB access logs in ``region``."""
    account = ELB_ACCOUNTS.get(region)
    if account:
        return {"AWS": f"arn:{partition}:iam::{account}:root"}
    return {"Service": LOG_DELIVERY_SERVICE}


def log_object_arn(bucket_arn: str, prefix: str, account_id: str) -> str:
    """The ARN pattern of the objects ALB writes: ``<bucket>/<prefix>/AWSLogs/<account>/*``."""
    middle = f"{prefix}/" if prefix else ""
    return f"{bucket_arn}/{middle}AWSLogs/{account_id}/*"


def access_log_bucket_policy(bucket_arn: str, prefix: str, account_id: str, region: str, partition: str = "aws") -> str:
    """The bucket policy: TLS-only access, and log delivery limited to this account's prefix."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                {
                    "Sid": "AllowElbAccessLogDelivery",
                    "Effect": "Allow",
                    "Principal": elb_log_principal(region, partition),
                    "Action": "s3:PutObject",
                    "Resource": log_object_arn(bucket_arn, prefix, account_id),
                },
            ],
        },
        sort_keys=True,
    )
