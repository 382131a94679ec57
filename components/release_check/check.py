"""The release's built-in check: the hook CodeDeploy invokes before and after it shifts ``live``.

Before traffic (``PHASE=before``) it sends the new version itself a GET for ``CHECK_PATH`` as the
load balancer would, so a version that cannot answer never gets a request from a user; after traffic
(``PHASE=after``) it sends the same request through the alias, which then serves the new version.
A response passes when the function did not raise and answered ``EXPECTED_STATUS``.

It always reports to CodeDeploy, also when something raises: a hook that never reports holds the
deployment for an hour before CodeDeploy gives up on it. One JSON line in the log says what was
checked and, on failure, why.

Environment: ``TARGET_FUNCTION`` (the function's name), ``ALIAS`` (``live``), ``CHECK_PATH`` (``/``),
``EXPECTED_STATUS`` (``200``), ``PHASE`` (``before`` or ``after``), ``MULTI_VALUE`` (``true`` when the
target group sends multi-value headers). Standard library and boto3 only
(Lambda's Python runtime has boto3), for Python 3.11 to 3.13.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

import boto3

USER_AGENT = "lambda-alb-release-check"


def alb_event(path: str, user_agent: str = USER_AGENT, multi_value: bool = False) -> dict[str, Any]:
    """A GET as the load balancer sends it, no body: single-value headers, or with the target
    group's multi-value headers on (``MULTI_VALUE``) the lists ALB sends instead. The smoke check
    sends the same one (smoke/checks.py), with its own user agent."""
    headers = {"user-agent": user_agent, "x-forwarded-proto": "https"}
    fields: dict[str, Any] = (
        {"multiValueQueryStringParameters": {}, "multiValueHeaders": {k: [v] for k, v in headers.items()}}
        if multi_value
        else {"queryStringParameters": {}, "headers": headers}
    )
    return {
        "requestContext": {"elb": {"targetGroupArn": f"arn:aws:elasticloadbalancing:{user_agent}"}},
        "httpMethod": "GET",
        "path": path,
        **fields,
        "body": "",
        "isBase64Encoded": False,
    }


def target_version(codedeploy: Any, deployment_id: str) -> str:
    """The version the deployment shifts to: ``TargetVersion`` in its AppSpec (the release writes it
    as JSON). GetDeployment's ``revision`` has room for the AppSpec's content (botocore's model:
    RevisionLocation.appSpecContent.content) and moto returns it; when AWS answers with its sha256
    alone, GetApplicationRevision gives the content for that revision; and when that is refused too,
    the description the release gives every deployment (``... to version N``) says it."""
    info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    revision = info["revision"]
    content = (revision.get("appSpecContent") or {}).get("content")
    if not content:
        try:
            stored = codedeploy.get_application_revision(applicationName=info["applicationName"], revision=revision)
            content = stored["revision"]["appSpecContent"]["content"]
        except Exception:  # noqa: BLE001 - the description below is the last way to know
            found = re.search(r"to version (\d+)$", info.get("description") or "")
            if found is None:
                raise
            return found.group(1)
    (resource,) = json.loads(content)["Resources"][0].values()
    return str(resource["Properties"]["TargetVersion"])


def judge(function_error: str | None, payload: bytes, expected: str) -> str | None:
    """Why the response fails the check, or None when it passes."""
    text = payload.decode("utf-8", "replace")
    if function_error:
        return f"the function raised ({function_error}): {text[:500]}"
    try:
        response = json.loads(text)
    except ValueError:
        return f"the response is not JSON: {text[:200]!r}"
    if not isinstance(response, dict) or "statusCode" not in response:
        return f"the response has no statusCode: {text[:200]!r}"
    if str(response["statusCode"]) != expected:
        return f"status {response['statusCode']}, expected {expected}"
    return None


def check(event: Mapping[str, Any], codedeploy: Any, lam: Any, environ: Mapping[str, str]) -> dict[str, Any]:
    """Run the check, log it, report it to CodeDeploy; the log record."""
    deployment_id, execution_id = event["DeploymentId"], event["LifecycleEventHookExecutionId"]
    record: dict[str, Any] = {"deploymentId": deployment_id, "phase": environ.get("PHASE")}
    status = "Failed"
    try:
        function, alias, phase = environ["TARGET_FUNCTION"], environ["ALIAS"], environ["PHASE"]
        path, expected = environ["CHECK_PATH"], environ["EXPECTED_STATUS"].strip()
        if phase not in ("before", "after"):
            raise ValueError(f"PHASE is {phase!r}, not before or after")
        version = target_version(codedeploy, deployment_id)
        # Before traffic the alias still serves the old version: the new one is asked directly.
        qualifier = version if phase == "before" else alias
        record.update(function=function, targetVersion=version, qualifier=qualifier, path=path, expected=expected)
        event = alb_event(path, multi_value=environ.get("MULTI_VALUE") == "true")
        response = lam.invoke(FunctionName=function, Qualifier=qualifier, Payload=json.dumps(event).encode())
        record.update(executedVersion=response.get("ExecutedVersion"))
        reason = judge(response.get("FunctionError"), response["Payload"].read(), expected)
        if reason is None:
            status = "Succeeded"
        else:
            record.update(reason=reason)
    except Exception as exc:  # noqa: BLE001 - reported as Failed, or CodeDeploy waits an hour for the hook
        record.update(reason=f"the check itself failed: {exc!r}")
    record.update(level="INFO" if status == "Succeeded" else "ERROR", result=status)
    print(json.dumps(record), flush=True)
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=deployment_id, lifecycleEventHookExecutionId=execution_id, status=status
    )
    return record


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Entry point configured as ``check.handler``."""
    return check(event, boto3.client("codedeploy"), boto3.client("lambda"), os.environ)
