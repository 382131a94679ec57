"""The smoke checks: boto3 for the AWS side, plain HTTP for the URL. One result per check.

Every check says what it expected and what it found. boto3 honours ``AWS_ENDPOINT_URL`` (and the
per-service variants), so the checks run unchanged against any AWS-compatible endpoint.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3

from components.release_check.check import alb_event as check_event

HELLO = "<h1>Hello from Lambda!</h1>"
REQUIRED_OUTPUTS = ("url", "albArn", "listenerArns", "targetGroupArn", "functionName", "functionArn")


@dataclass(frozen=True)
class Result:
    """One line of the report."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


@dataclass
class Options:
    """How patient the checks are."""

    timeout: float = 300.0  # seconds to wait for the load balancer and the URL
    wait_logs: bool = False
    logs_timeout: float = 600.0
    url: str | None = None  # overrides the `url` output, e.g. https://app.example.com/
    sleep: Callable[[float], None] = time.sleep


def missing_outputs(outputs: dict) -> list[str]:
    """Required outputs that are absent (or, for albArn, not an ARN)."""
    missing = [key for key in REQUIRED_OUTPUTS if not outputs.get(key)]
    if "albArn" not in missing and len(str(outputs["albArn"]).split(":")) < 6:
        missing.append("albArn (not an ARN)")
    return missing


def region_of(arn: str) -> str:
    return arn.split(":")[3]


def alb_event(path: str = "/") -> dict:
    """A GET as the load balancer sends it: the event a release's check sends, with our user agent."""
    return check_event(path, "lambda-alb-smoke")


def check_load_balancer(elbv2, outputs: dict, options: Options) -> Result:
    name = "load balancer"
    deadline = time.monotonic() + options.timeout
    while True:
        found = elbv2.describe_load_balancers(LoadBalancerArns=[outputs["albArn"]])["LoadBalancers"]
        state = found[0]["State"]["Code"] if found else "absent"
        if state != "provisioning" or time.monotonic() >= deadline:
            break
        options.sleep(5)
    if state != "active":
        return Result(name, False, f"expected state active, found {state}")
    listeners = elbv2.describe_listeners(LoadBalancerArn=outputs["albArn"])["Listeners"]
    found_arns = {listener["ListenerArn"] for listener in listeners}
    expected = set(outputs["listenerArns"])
    described = ", ".join(f"{l['Protocol']}:{l['Port']}" for l in sorted(listeners, key=lambda l: l["Port"]))  # noqa: E741
    if found_arns != expected:
        return Result(
            name, False, f"expected listeners {sorted(expected)}, found {sorted(found_arns)} ({described or 'none'})"
        )
    return Result(name, True, f"{found[0]['LoadBalancerName']} is active with listeners {described}")


def judge_target_health(descriptions: list[dict], function_arn: str) -> Result:
    """The function must be registered; with health checks off, AWS reports it unavailable with
    reason Target.HealthCheckDisabled, which is expected for a Lambda target."""
    name = "target group"
    for description in descriptions:
        if description["Target"]["Id"] != function_arn:
            continue
        health = description["TargetHealth"]
        state, reason = health.get("State"), health.get("Reason")
        if state == "healthy":
            return Result(name, True, "the function is registered and healthy")
        if state == "unavailable" and reason == "Target.HealthCheckDisabled":
            return Result(name, True, "the function is registered (health checks off, as configured)")
        detail = f"{state} ({reason}: {health.get('Description', '')})" if reason else str(state)
        return Result(name, False, f"expected the function healthy or health-check-disabled, found {detail}")
    registered = [d["Target"]["Id"] for d in descriptions]
    return Result(name, False, f"expected {function_arn} registered, found {registered or 'no target'}")


def served_arn(outputs: dict) -> str:
    """What the load balancer invokes: the `live` alias (older stacks: the function itself)."""
    return outputs.get("liveAliasArn") or outputs["functionArn"]


def check_target_group(elbv2, outputs: dict) -> Result:
    descriptions = elbv2.describe_target_health(TargetGroupArn=outputs["targetGroupArn"])["TargetHealthDescriptions"]
    return judge_target_health(descriptions, served_arn(outputs))


def check_function(lambda_client, outputs: dict) -> Result:
    name = "function"
    config = lambda_client.get_function(FunctionName=outputs["functionName"])["Configuration"]
    state, update = config.get("State"), config.get("LastUpdateStatus")
    if state != "Active" or update != "Successful":
        reason = config.get("StateReason") or config.get("LastUpdateStatusReason") or ""
        return Result(
            name, False, f"expected State Active and LastUpdateStatus Successful, found {state} / {update} {reason}"
        )
    return Result(name, True, f"{outputs['functionName']} is Active, last update Successful ({config.get('Runtime')})")


def check_invoke(lambda_client, outputs: dict) -> Result:
    name = "direct invoke"
    # The same alias the load balancer invokes.
    response = lambda_client.invoke(FunctionName=served_arn(outputs), Payload=json.dumps(alb_event()).encode())
    payload = response["Payload"].read().decode("utf-8", "replace")
    if response.get("FunctionError"):
        return Result(
            name, False, f"expected an ALB response, found a {response['FunctionError']} error: {payload[:300]}"
        )
    try:
        result = json.loads(payload)
    except ValueError:
        return Result(name, False, f"expected a JSON ALB response, found {payload[:200]!r}")
    if not isinstance(result, dict) or result.get("statusCode") != 200 or HELLO not in str(result.get("body")):
        return Result(name, False, f"expected statusCode 200 with {HELLO}, found {payload[:300]}")
    return Result(name, True, f"GET / to {served_arn(outputs).rsplit(':', 1)[-1]} returned 200 with the hello body")


# The check names itself, so its requests can be told apart in the access and WAF logs. (Python's
# default, Python-urllib/3.x, would pass the web ACL's NoUserAgent_HEADER rule as well: that rule
# blocks only requests without a User-Agent.)
USER_AGENT = "lambda-alb-smoke/1"


def check_url(outputs: dict, options: Options) -> Result:
    url = options.url or outputs["url"]
    name = f"HTTP GET {url}"
    deadline = time.monotonic() + options.timeout
    delay, attempts, last = 1.0, 0, "no attempt"
    while True:
        attempts += 1
        try:
            request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310 - our own URL
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own URL
                body = response.read().decode("utf-8", "replace")
                if response.status == 200 and HELLO in body:
                    return Result(name, True, f"200 with the hello body (attempt {attempts})")
                last = f"{response.status} {body[:120]!r}"
        except urllib.error.HTTPError as exc:
            last = f"{exc.code} {exc.read()[:120]!r}"
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ssl.SSLCertVerificationError):
                return Result(
                    name,
                    False,
                    f"the certificate does not match {url} ({exc.reason.verify_message}); "
                    "pass --url with the domain the certificate is for",
                )
            last = str(exc.reason)
        except OSError as exc:
            last = str(exc)
        if time.monotonic() + delay > deadline:
            return Result(name, False, f"expected 200 with {HELLO}, found {last} after {attempts} attempt(s)")
        options.sleep(delay)
        delay = min(delay * 2, 15.0)


def own_log_marker(alb_arn: str) -> str:
    """What every access-log object of this load balancer has in its name: ALB writes
    ``<account>_elasticloadbalancing_<region>_app.<name>.<id>_<time>_<ip>_<random>.log.gz``."""
    name, lb_id = alb_arn.split(":loadbalancer/app/")[1].split("/")
    return f"_app.{name}.{lb_id}_"


def todays_log_prefixes(s3, bucket: str, alb_arn: str, now: datetime) -> list[str]:
    """Where ALB writes this load balancer's logs of ``now``'s day: ``[<prefix>/]AWSLogs/<account>/
    elasticloadbalancing/<region>/<yyyy>/<mm>/<dd>/``, under each top-level prefix of the bucket."""
    region, account = alb_arn.split(":")[3], alb_arn.split(":")[4]
    tops = [p["Prefix"] for p in s3.list_objects_v2(Bucket=bucket, Delimiter="/").get("CommonPrefixes", [])]
    day = f"AWSLogs/{account}/elasticloadbalancing/{region}/{now:%Y/%m/%d}/"
    return [f"{top}{day}" for top in tops if top != "AWSLogs/"] + ([day] if "AWSLogs/" in tops else [])


def check_access_logs(s3, outputs: dict, options: Options) -> Result:
    """An access-log object of this stack's own load balancer, written since the check began (ALB
    delivers every five minutes). Neither the bucket's test object (ELBAccessLogTestFile, the same key
    whichever load balancer enabled logging), another load balancer's logs (any stack may point its
    logs at this bucket) nor an older log counts. Only today's keys are listed, not the whole bucket."""
    name = "access logs"
    bucket = outputs.get("accessLogsBucket")
    if not bucket:
        return Result(name, False, "expected an accessLogsBucket output, found none (access logs disabled?)")
    marker = own_log_marker(outputs["albArn"])
    began = datetime.now(UTC) - timedelta(minutes=10)  # a log of the check's first requests may be that old
    deadline = time.monotonic() + options.logs_timeout
    while True:
        keys = [
            o["Key"]
            for prefix in todays_log_prefixes(s3, bucket, outputs["albArn"], datetime.now(UTC))
            for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
            if marker in o["Key"] and o["LastModified"] >= began
        ]
        if keys:
            return Result(name, True, f"s3://{bucket}/{keys[0]}")
        if time.monotonic() + 10 > deadline:
            return Result(
                name, False, f"expected an access log of this load balancer ({marker}) in s3://{bucket}, found none"
            )
        options.sleep(10)


def run_checks(outputs: dict, options: Options, session: boto3.session.Session | None = None) -> list[Result]:
    """Every check, in order; a check that raises is reported as a failure, not a crash."""
    session = session or boto3.session.Session()
    region = region_of(outputs["albArn"])
    elbv2 = session.client("elbv2", region_name=region)
    lambda_client = session.client("lambda", region_name=region)
    checks: list[tuple[str, Callable[[], Result]]] = [
        ("load balancer", lambda: check_load_balancer(elbv2, outputs, options)),
        ("target group", lambda: check_target_group(elbv2, outputs)),
        ("function", lambda: check_function(lambda_client, outputs)),
        ("direct invoke", lambda: check_invoke(lambda_client, outputs)),
        ("HTTP", lambda: check_url(outputs, options)),
    ]
    if options.wait_logs:
        s3 = session.client("s3", region_name=region)
        checks.append(("access logs", lambda: check_access_logs(s3, outputs, options)))
    results = []
    for name, check in checks:
        try:
            results.append(check())
        except Exception as exc:  # noqa: BLE001 - an AWS error is a failed check with its message
            results.append(Result(name, False, f"{type(exc).__name__}: {exc}"))
    return results
