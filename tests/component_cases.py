"""Programs a user might write with the component, one function each (run by tests/programs/component)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pulumi

from components import FunctionArgs, LambdaAlbService, LambdaAlbServiceArgs, LoadBalancerArgs, RouteArgs

ROOT = Path(__file__).resolve().parent.parent


def bad_values_everywhere() -> None:
    LambdaAlbService(
        "a-name-that-is-far-too-long-for-aws",
        LambdaAlbServiceArgs(
            function=FunctionArgs(memory_size=100000, runtime="python2.7", environment={"AWS_REGION": "x"}),
            load_balancer=LoadBalancerArgs(allowed_cidrs=["10.0.0.1/8"], idle_timeout=0),
            routes=(RouteArgs(priority=0, path_patterns=("/a",)), RouteArgs(priority=5)),
        ),
        project_dir=str(ROOT),
    )


def outputs_are_not_judged() -> None:
    # Values only known at deploy time pass through unchecked; the known ones next to them are checked.
    unknown = pulumi.Output.from_input("arn:aws:acm:us-east-1:111122223333:certificate/from-elsewhere")
    LambdaAlbService(
        "svc",
        LambdaAlbServiceArgs(
            function=FunctionArgs(environment={"TOKEN": pulumi.Output.secret("t")}),
            load_balancer=LoadBalancerArgs(
                certificate_arn=unknown, allowed_cidrs=[pulumi.Output.from_input("10.0.0.0/8")]
            ),
        ),
        project_dir=ROOT,
    )


def code_as_an_archive() -> None:
    service = LambdaAlbService(
        "svc",
        LambdaAlbServiceArgs(
            function=FunctionArgs(code=pulumi.AssetArchive({"app.py": pulumi.StringAsset("def handler(e, c): ...")}))
        ),
        project_dir="/nonexistent",  # no code_dir is needed: the archive is the package
    )
    pulumi.export(
        "children", [type(c).__name__ for c in (service.function, service.load_balancer, service.target_group)]
    )


CASES: dict[str, Callable[[], None]] = {
    f.__name__: f for f in (bad_values_everywhere, outputs_are_not_judged, code_as_an_archive)
}
