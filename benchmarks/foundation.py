"""Foundation benchmark: prints numbers, asserts nothing.

    python3 dev.py bench

Reports: evaluation time of each stack under mocks (beyond importing pulumi and the pulumi-aws
modules the program uses), a stack with 1 route vs 100 routes, the test suite's wall time, the
function package size and the handler's cold import time.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_EVAL_SNIPPET = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
t0 = time.perf_counter()
import pulumi, pulumi_aws as aws
# Touch every class the program uses: pulumi-aws loads its modules lazily on first access.
used = [aws.iam.Role, aws.iam.RolePolicy, aws.cloudwatch.LogGroup, aws.lambda_.Function,
        aws.lambda_.Permission, aws.lb.TargetGroup, aws.lb.TargetGroupAttachment, aws.lb.LoadBalancer,
        aws.lb.Listener, aws.lb.ListenerRule, aws.ec2.SecurityGroup, aws.ec2.get_vpcs, aws.ec2.get_subnets,
        aws.s3.Bucket, aws.s3.BucketPolicy, aws.s3.BucketPublicAccessBlock, aws.s3.BucketOwnershipControls,
        aws.s3.BucketServerSideEncryptionConfiguration, aws.s3.BucketLifecycleConfiguration,
        aws.get_region_output, aws.get_caller_identity_output, aws.get_partition_output, aws.lambda_.Alias,
        aws.wafv2.WebAcl, aws.wafv2.WebAclAssociation, aws.wafv2.WebAclLoggingConfiguration, aws.kms.Key,
        aws.sns.Topic, aws.sns.TopicPolicy, aws.cloudwatch.MetricAlarm, aws.cloudwatch.Dashboard]
t1 = time.perf_counter()
sys.path.insert(0, {root!r})
from tests.harness import evaluate, load_stack
from benchmarks.foundation import with_routes
config = load_stack({stack!r}) if {routes!r} is None else with_routes({routes!r})
t2 = time.perf_counter()
evaluate(config, {stack!r}, preview=True)  # as `pulumi preview` (prod's certificate is a placeholder)
t3 = time.perf_counter()
print(json.dumps({{"import_sdk": t1 - t0, "import_harness": t2 - t1, "first_eval": t3 - t2}}))
"""


def cold_stack_evaluation(stack: str, routes: int | None = None, runs: int = 3) -> dict:
    """Fresh interpreter each run (as `pulumi preview` starts): the time to import pulumi and the
    pulumi-aws classes the program uses, then the program's first evaluation under mocks."""
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _EVAL_SNIPPET.format(root=str(ROOT), stack=stack, routes=routes)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        samples.append(json.loads(out.strip().splitlines()[-1]))
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def warm_evaluation(config: dict, runs: int = 15) -> float:
    from tests.harness import evaluate

    evaluate(config)  # warm imports and caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        evaluate(config)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def with_routes(count: int) -> dict:
    from tests.harness import load_stack

    config = load_stack("dev")
    config["lambda-alb:routes"] = [
        {"priority": i + 1, "pathPatterns": [f"/r{i}/*"], "fixedResponse": {"statusCode": 200, "body": str(i)}}
        for i in range(count)
    ]
    return config


def with_functions(count: int, routes: int = 0) -> dict:
    """dev with ``count`` functions (one route each, the last the default action) and ``routes``
    extra fixed-response routes."""
    from tests.harness import load_stack

    config = load_stack("dev")
    config.pop("lambda-alb:function", None)
    keys = [f"f{i}" for i in range(count)]
    config["lambda-alb:functions"] = {key: {} for key in keys}
    config["lambda-alb:routes"] = [
        {"priority": i + 1, "pathPatterns": [f"/{key}/*"], "function": key} for i, key in enumerate(keys)
    ] + [
        {"priority": 1000 + i, "pathPatterns": [f"/r{i}/*"], "fixedResponse": {"statusCode": 200}}
        for i in range(routes)
    ]
    config["lambda-alb:loadBalancer"] = {**config["lambda-alb:loadBalancer"], "defaultAction": {"forward": keys[-1]}}
    return config


def resources_of(config: dict) -> int:
    from tests.harness import evaluate

    return sum(1 for r in evaluate(config).registrations if r.custom)


def suite_wall_time() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q"], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def handler_cold_import_ms(preload: str = "", runs: int = 15) -> float:
    """``import app`` in a fresh interpreter without bytecode caches (the package ships none)."""
    snippet = f"{preload}import time; t=time.perf_counter(); import app; print((time.perf_counter()-t)*1000)"
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-B", "-c", snippet], cwd=ROOT / "function", capture_output=True, text=True, check=True
        ).stdout
        samples.append(float(out))
    return statistics.median(samples)


def main() -> None:
    import warnings

    warnings.simplefilter("ignore")
    from components.packaging import build_package

    rows = []
    for stack in ("dev", "prod"):
        cold = cold_stack_evaluation(stack)
        rows.append((f"{stack}: import pulumi + pulumi-aws modules", f"{cold['import_sdk']:.2f} s"))
        rows.append((f"{stack}: first evaluation after that (cold)", f"{cold['first_eval']:.2f} s   (aim < 1.5 s)"))
    one_run, hundred_run = cold_stack_evaluation("dev", routes=1), cold_stack_evaluation("dev", routes=100)
    cold_one, cold_hundred = one_run["first_eval"], hundred_run["first_eval"]
    rows.append(("1 route, first evaluation (cold)", f"{cold_one:.2f} s"))
    rows.append(("100 routes, first evaluation (cold)", f"{cold_hundred:.2f} s"))
    rows.append(("100 routes / 1 route, evaluation only", f"{cold_hundred / cold_one:.2f}x   (aim <= 1.5x)"))
    whole_one, whole_hundred = sum(one_run.values()), sum(hundred_run.values())
    rows.append(("100 routes / 1 route, whole program run", f"{whole_hundred / whole_one:.2f}x"))
    one, hundred = warm_evaluation(with_routes(1)), warm_evaluation(with_routes(100))
    rows.append(("1 route, re-evaluation in a warm process", f"{one * 1000:.0f} ms"))
    rows.append(("100 routes, re-evaluation in a warm process", f"{hundred * 1000:.0f} ms"))
    rows.append(("  SDK cost per extra rule resource (warm)", f"{(hundred - one) / 99 * 1000:.1f} ms"))
    # Several functions: time per registered resource should stay flat (linear in resources).
    for count, routes in ((1, 0), (10, 0), (10, 90)):  # 100 rules: the default quota
        config = with_functions(count, routes)
        seconds, resources = warm_evaluation(config, runs=5), resources_of(config)
        rows.append((
            f"{count} function(s), {count + routes} routes, warm re-evaluation",
            f"{seconds * 1000:.0f} ms for {resources} resources = {seconds / resources * 1000:.2f} ms each",
        ))  # fmt: skip
    rows.append(("test suite wall time", f"{suite_wall_time():.1f} s   (aim < 30 s)"))
    rows.append(("function package size", f"{build_package(ROOT / 'function').size} bytes   (aim < 16 KiB)"))
    rows.append(("handler cold import, bare interpreter", f"{handler_cold_import_ms():.2f} ms   (aim < 10 ms)"))
    # The Lambda runtime's bootstrap has imported json before it imports the handler.
    rows.append(("handler cold import, json preloaded", f"{handler_cold_import_ms('import json; '):.2f} ms"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
