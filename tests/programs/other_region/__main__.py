"""A user's program: the component in another region, through an explicit provider."""

from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.service import LambdaAlbService
from components.settings import parse_settings

ROOT = Path(__file__).resolve().parents[3]
PROVIDER_STYLE = pulumi.Config("test").get("style") or "provider"

eu_west = aws.Provider("eu", region="eu-west-1")
settings = parse_settings(
    {
        "function": {"codeDir": "function"},
        "loadBalancer": {"deletionProtection": False},
        "monitoring": {"alarms": True, "dashboard": True},
        "routes": [],
    },
    ROOT,
)
opts = (
    pulumi.ResourceOptions(provider=eu_west)
    if PROVIDER_STYLE == "provider"
    else pulumi.ResourceOptions(providers={"aws": eu_west})
)
service = LambdaAlbService("svc-eu", settings, opts, project_dir=ROOT)
pulumi.export("dashboardUrl", service.dashboard_url)
