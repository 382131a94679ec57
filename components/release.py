"""Releases shifted by CodeDeploy inside ``pulumi up``: a Pulumi dynamic resource per function.

With ``function.deployment``, ``live`` is no longer moved by Pulumi (the alias ignores changes to its
version); this resource moves it. When the function publishes a new version, it asks CodeDeploy to
shift ``live`` from the version it serves to the new one (the deployment group's configuration says
how: all at once, linear or canary steps), with the pre- and post-traffic checks as hooks, and waits
for the outcome, printing the progress.

Why a dynamic resource: ``pulumi up`` stays the one command that releases, from a laptop as from the
pipeline, with the same credentials; the release shows in the preview like any change, and runs after
the version it releases exists. A script run after ``pulumi up`` would be a second step to forget
and a second set of permissions.

On failure (rolled back, stopped, or still going at the deadline) the update fails with a message
saying why and what to do; Pulumi keeps the resource's previous inputs and outputs in the state, so
the next ``pulumi up`` sees the same change again and retries the release (or finds it done, when a
deployment it left running has since succeeded). Nothing is undone on delete: CodeDeploy keeps its
history, and the alias goes with the function.

The provider is serialized into the state with its code (Pulumi's dynamic providers), so its methods
import only the standard library and boto3 and refer to nothing else of this project.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi.dynamic


def _provider() -> Any:
    """The provider's class, made here so that its qualified name is not importable: Pulumi pickles
    a provider into the state with dill, which then takes the class and its methods by value, and
    the provider process (the Pulumi engine's, not this program's) needs nothing of this project."""

    class TrafficRelease(pulumi.dynamic.ResourceProvider):
        """Shifts an alias to a version through a CodeDeploy deployment and waits for the outcome."""

        # Seconds between two looks at a deployment; the tests set 0.
        poll_seconds: float = 15.0
        # The clock the deadline is kept on (None: time.monotonic); the tests set their own.
        clock: Any = None
        # The props whose change makes a release; wait_minutes, region and profile only say how it runs.
        WATCHED = ("function_name", "alias", "version", "application", "deployment_group", "before_hook", "after_hook")
        # A deployment in one of these is not over (ListDeployments' statuses).
        ACTIVE = ["Created", "Queued", "InProgress", "Baking", "Ready"]
        OVER = ("Succeeded", "Failed", "Stopped")

        def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
            return pulumi.dynamic.CreateResult(
                id_=f"{props['function_name']}:{props['alias']}", outs=self.release(props)
            )

        def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
            return pulumi.dynamic.UpdateResult(outs=self.release(news))

        def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
            return pulumi.dynamic.DiffResult(changes=any(olds.get(k) != news.get(k) for k in self.WATCHED), replaces=[])

        def delete(self, _id: str, _props: dict[str, Any]) -> None:
            """Nothing to undo: the deployments stay in CodeDeploy's history, the alias goes with the function."""

        @staticmethod
        def say(line: str) -> None:
            """A progress line: Pulumi shows what a dynamic provider writes to stderr (pulumi.log is a
            no-op in the provider's process)."""
            import sys

            print(line, file=sys.stderr, flush=True)

        @staticmethod
        def appspec(props: dict[str, Any], current: str) -> str:
            """The AppSpec of a Lambda deployment (CodeDeploy user guide: "AppSpec File Example for an
            AWS Lambda Deployment"), as JSON; a hook is listed only when there is one."""
            import json

            name = str(props["function_name"])
            properties = {
                "Name": name,
                "Alias": props["alias"],
                "CurrentVersion": current,
                "TargetVersion": props["version"],
            }
            hooks = [
                {event: props[key]}
                for event, key in (("BeforeAllowTraffic", "before_hook"), ("AfterAllowTraffic", "after_hook"))
                if props.get(key)
            ]
            spec = {"version": 0.0, "Resources": [{name: {"Type": "AWS::Lambda::Function", "Properties": properties}}]}
            return json.dumps({**spec, "Hooks": hooks} if hooks else spec)

        @staticmethod
        def description(name: str, alias: str, current: str, version: str) -> str:
            """The deployment's description; the check reads the target version from its end when it
            can read the AppSpec no other way (components/release_check/check.py)."""
            return f"{name}:{alias} from version {current} to version {version}"

        @staticmethod
        def serving(alias: dict[str, Any]) -> str:
            """What an alias serves, in words: ``version 6`` or ``version 6, and 10% to version 7``."""
            weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
            shares = "".join(f", and {round(w * 100)}% to version {v}" for v, w in weights.items())
            return f"version {alias['FunctionVersion']}{shares}"

        @staticmethod
        def commands(deployment_id: str) -> str:
            """The two ways out of a deployment under way, as commands to copy."""
            return (
                f"  wait for it:  aws deploy wait deployment-successful --deployment-id {deployment_id}\n"
                f"  or stop it and roll back:  aws deploy stop-deployment --deployment-id {deployment_id}"
                " --auto-rollback-enabled\n"
                "then run `pulumi up` again."
            )

        def refuse_if_busy(self, deploy: Any, props: dict[str, Any], live: dict[str, Any]) -> None:
            """Fail, saying what to do, when a release is under way: a deployment of the group not
            over, or traffic split on the alias (CodeDeploy would refuse or fight over the alias)."""
            group = f"{props['application']}/{props['deployment_group']}"
            running = deploy.list_deployments(
                applicationName=props["application"],
                deploymentGroupName=props["deployment_group"],
                includeOnlyStatuses=self.ACTIVE,
            )["deployments"]
            if running:
                status = deploy.get_deployment(deploymentId=running[0])["deploymentInfo"]["status"]
                raise RuntimeError(
                    f"Another release is under way: deployment {running[0]} of {group} is {status}, and "
                    f"{props['alias']} serves {self.serving(live)}. Let it finish first:\n{self.commands(running[0])}"
                )
            if (live.get("RoutingConfig") or {}).get("AdditionalVersionWeights"):
                raise RuntimeError(
                    f"{props['function_name']}:{props['alias']} splits its traffic ({self.serving(live)}) and no "
                    f"deployment of {group} is under way. Put it back on one version:\n"
                    f"  aws lambda update-alias --function-name {props['function_name']} --name {props['alias']}"
                    f" --function-version {live['FunctionVersion']} --routing-config AdditionalVersionWeights={{}}\n"
                    "then run `pulumi up` again."
                )

        def release(self, props: dict[str, Any]) -> dict[str, Any]:
            """Release ``version`` on the alias unless it already serves it; the resource's outputs."""
            import hashlib

            import boto3

            session = boto3.session.Session(
                region_name=props.get("region") or None, profile_name=props.get("profile") or None
            )
            lam, deploy = session.client("lambda"), session.client("codedeploy")
            name, alias, version = str(props["function_name"]), str(props["alias"]), str(props["version"])
            live = lam.get_alias(FunctionName=name, Name=alias)
            if live["FunctionVersion"] == version and not (live.get("RoutingConfig") or {}).get(
                "AdditionalVersionWeights"
            ):
                # The first deploy (the alias was just made on this version), or nothing to move.
                return {**props, "deployment_id": None, "served": version}
            self.refuse_if_busy(deploy, props, live)
            content = self.appspec(props, live["FunctionVersion"])
            deployment_id = deploy.create_deployment(
                applicationName=props["application"],
                deploymentGroupName=props["deployment_group"],
                revision={
                    "revisionType": "AppSpecContent",
                    "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
                },
                description=self.description(name, alias, live["FunctionVersion"], version),
            )["deploymentId"]
            self.say(f"{deployment_id}: releasing {name} version {version} on {alias} (now {self.serving(live)})")

            info = self.follow(deploy, lam, deployment_id, props)
            if info["status"] == "Succeeded":
                self.say(f"{deployment_id}: Succeeded, {alias} serves version {version}")
                return {**props, "deployment_id": deployment_id, "served": version}
            error = info.get("errorInformation") or {}
            reason = f"{error.get('code', 'no code')}: {error.get('message', 'no message')}"
            rollback_info = info.get("rollbackInfo") or {}
            rollback = rollback_info.get("rollbackMessage")
            now = self.serving(lam.get_alias(FunctionName=name, Name=alias))
            # An alarm stops the deployment and CodeDeploy rolls back in a deployment of its own,
            # which may still be moving live: the message names it.
            if info["status"] == "Failed":
                what = "rolled back"
            elif rollback_info.get("rollbackDeploymentId"):
                what = f"stopped and rolled back by deployment {rollback_info['rollbackDeploymentId']}"
            else:
                what = "stopped"
            raise RuntimeError(
                f"The release of {name} version {version} was {what} (deployment {deployment_id}, {info['status']}): "
                f"{reason}{f' ({rollback})' if rollback else ''}\n{alias} serves {now}. Fix the cause and deploy "
                f"again; running `pulumi up` again retries version {version} as it is. Details: "
                f"aws deploy get-deployment --deployment-id {deployment_id}"
            )

        def follow(self, deploy: Any, lam: Any, deployment_id: str, props: dict[str, Any]) -> dict[str, Any]:
            """Poll the deployment until it is over, saying each change of status or of traffic share;
            its last ``deploymentInfo``. Past ``wait_minutes``, fail: the deployment goes on in AWS."""
            import time

            clock = self.clock or time.monotonic
            deadline = clock() + 60 * float(props["wait_minutes"])
            said = ""
            while True:
                info: dict[str, Any] = deploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
                if info["status"] in self.OVER:
                    return info
                # The traffic shift shows on the alias (CodeDeploy moves its routing weights), not in
                # GetDeployment, whose deploymentOverview counts targets: one for a Lambda deployment.
                alias = lam.get_alias(FunctionName=props["function_name"], Name=props["alias"])
                line = f"{deployment_id}: {info['status']}, {props['alias']} serves {self.serving(alias)}"
                if line != said:
                    self.say(line)
                    said = line
                if clock() >= deadline:
                    raise RuntimeError(
                        f"The release of {props['function_name']} version {props['version']} did not finish "
                        f"within {float(props['wait_minutes']):g} minutes: deployment {deployment_id} is "
                        f"{info['status']} and goes on in AWS. Watch it with `aws deploy get-deployment "
                        f"--deployment-id {deployment_id}`, and\n{self.commands(deployment_id)}"
                    )
                time.sleep(self.poll_seconds)

    return TrafficRelease


# What the tests drive directly.
TrafficRelease = _provider()


class Release(pulumi.dynamic.Resource):
    """The release of one function's new version on its alias through CodeDeploy (``deployment_id``:
    the last deployment, None when there was nothing to release; ``served``: the version the alias
    serves afterwards)."""

    deployment_id: pulumi.Output[str | None]
    served: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        function_name: pulumi.Input[str],
        alias: pulumi.Input[str],
        version: pulumi.Input[str],
        application: pulumi.Input[str],
        deployment_group: pulumi.Input[str],
        before_hook: pulumi.Input[str] | None,
        after_hook: pulumi.Input[str] | None,
        wait_minutes: int,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        aws = pulumi.Config("aws")
        props = {
            "function_name": function_name,
            "alias": alias,
            "version": version,
            "application": application,
            "deployment_group": deployment_group,
            "before_hook": before_hook,
            "after_hook": after_hook,
            "wait_minutes": wait_minutes,
            # The provider runs with the program's credentials; it is told the region and profile
            # the AWS provider uses (its configuration is not in the environment).
            "region": aws.get("region"),
            "profile": aws.get("profile"),
            "deployment_id": None,
            "served": None,
        }
        super().__init__(TrafficRelease(), name, props, opts)
