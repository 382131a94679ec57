"""Old versions pruned inside ``pulumi up``: a Pulumi dynamic resource per function.

Every deploy that changes a function publishes a version, and Lambda keeps every version's code
(75 GB per region, shared by the account's functions) until it is deleted: left alone, deploys end
in ``CodeStorageExceededException``. After ``live`` moves, this resource deletes the function's
versions beyond the newest ``function.keepVersions``, never one an alias serves or routes to, nor a
version the stack file pins (``liveVersion``, ``stableVersion``).

Why a dynamic resource: it runs inside ``pulumi up`` (from a laptop as from the pipeline, with the
same credentials), after the alias it depends on, and shows in the preview like any resource; the
AWS provider has no resource that deletes versions. The provider is serialized into the state with
its code (Pulumi's dynamic providers), so its methods import only boto3 and refer to nothing else
of this project.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi.dynamic


def _provider() -> Any:
    """The provider's class, made here so that its qualified name is not importable: Pulumi pickles
    a provider into the state with dill, which then takes the class and its methods by value, and
    the provider process (the Pulumi engine's, not this program's) needs nothing of this project."""

    class VersionPruner(pulumi.dynamic.ResourceProvider):
        """Deletes a function's published versions beyond the newest ``keep`` that nothing refers to."""

        def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
            return pulumi.dynamic.CreateResult(
                id_=str(props["function_name"]), outs={**props, "deleted": self.prune(props)}
            )

        def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
            return pulumi.dynamic.UpdateResult(outs={**news, "deleted": self.prune(news)})

        def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
            return pulumi.dynamic.DiffResult(
                changes=any(olds.get(k) != news.get(k) for k in ("function_name", "version", "keep", "pinned")),
                replaces=[],
            )

        def delete(self, _id: str, _props: dict[str, Any]) -> None:
            """Nothing to undo: the versions go with the function."""

        @staticmethod
        def stale(versions: list[str], protected: set[str], keep: int) -> list[str]:
            """The published versions to delete, oldest first: all but the newest ``keep``, less the
            protected ones ($LATEST is never a candidate)."""
            numbered = sorted((int(v) for v in versions if v.isdigit()), reverse=True)
            newest = {str(v) for v in numbered[:keep]}
            return [str(v) for v in sorted(numbered) if str(v) not in newest and str(v) not in protected]

        def prune(self, props: dict[str, Any]) -> list[str]:
            """List the versions and aliases, delete the stale versions; returns those deleted."""
            import boto3

            session = boto3.session.Session(
                region_name=props.get("region") or None, profile_name=props.get("profile") or None
            )
            client = session.client("lambda")
            name = str(props["function_name"])
            versions = [
                version["Version"]
                for page in client.get_paginator("list_versions_by_function").paginate(FunctionName=name)
                for version in page["Versions"]
            ]
            protected = {str(v) for v in props.get("pinned") or []}
            for page in client.get_paginator("list_aliases").paginate(FunctionName=name):
                for alias in page["Aliases"]:
                    protected.add(alias["FunctionVersion"])
                    protected |= set((alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {})
            deleted = []
            for version in self.stale(versions, protected, int(props["keep"])):
                try:
                    client.delete_function(FunctionName=name, Qualifier=version)
                except client.exceptions.ResourceConflictException:
                    continue  # taken into use since the listing (an alias, a provisioned config): kept
                deleted.append(version)
            return deleted

    return VersionPruner


# What the tests drive directly.
VersionPruner = _provider()


class VersionPruning(pulumi.dynamic.Resource):
    """The pruning of one function's versions (``deleted``: those the last run deleted)."""

    deleted: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        function_name: pulumi.Input[str],
        version: pulumi.Input[str],
        keep: int,
        pinned: list[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        aws = pulumi.Config("aws")
        props = {
            "function_name": function_name,
            "version": version,
            "keep": keep,
            "pinned": pinned,
            # The provider runs with the program's credentials; it is told the region and profile
            # the AWS provider uses (its configuration is not in the environment).
            "region": aws.get("region"),
            "profile": aws.get("profile"),
            "deleted": None,
        }
        super().__init__(VersionPruner(), name, props, opts)
