"""lambda-alb: a Python Lambda function behind an Application Load Balancer, as a Pulumi component.

    from . import LambdaAlbService, LambdaAlbServiceArgs, FunctionArgs, LoadBalancerArgs, RouteArgs

The args classes (``settings``, plain Python) are the same model the stack files are read into;
``LambdaAlbService`` (``service``) imports the Pulumi AWS SDK, so it is loaded only when asked for
(the local ALB uses the args without paying for that import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .settings import (
    AccessLogsArgs,
    DeploymentArgs,
    FixedResponseArgs,
    FunctionArgs,
    FunctionVpcArgs,
    HealthCheckArgs,
    LambdaAlbServiceArgs,
    LoadBalancerArgs,
    MonitoringArgs,
    RedirectArgs,
    RouteArgs,
    TrafficCheckArgs,
    WafArgs,
)

if TYPE_CHECKING:
    from .service import LambdaAlbService

__all__ = [
    "AccessLogsArgs",
    "DeploymentArgs",
    "FixedResponseArgs",
    "FunctionArgs",
    "FunctionVpcArgs",
    "HealthCheckArgs",
    "LambdaAlbService",
    "LambdaAlbServiceArgs",
    "LoadBalancerArgs",
    "MonitoringArgs",
    "RedirectArgs",
    "RouteArgs",
    "TrafficCheckArgs",
    "WafArgs",
]


def __getattr__(name: str) -> Any:
    if name == "LambdaAlbService":
        from .service import LambdaAlbService

        return LambdaAlbService
    raise AttributeError(f"module 'components' has no attribute {name!r}")
