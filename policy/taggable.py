"""Which resource types take ``tags``, read from the pulumi-aws SDK's own classes (no list to keep)."""

from __future__ import annotations

import functools
import importlib
import inspect
import keyword


def _module_name(token: str) -> str:
    """``aws:lb/loadBalancer:LoadBalancer`` -> ``pulumi_aws.lb`` (``lambda`` -> ``lambda_``, ``index`` -> the root)."""
    module = token.split(":")[1].split("/")[0]
    if module == "index":
        return "pulumi_aws"
    return f"pulumi_aws.{module}_" if keyword.iskeyword(module) else f"pulumi_aws.{module}"


@functools.cache
def takes_tags(token: str) -> bool:
    """Whether resources of type ``token`` accept a ``tags`` argument; False for non-AWS types and
    types the installed pulumi-aws does not know."""
    parts = token.split(":")
    if len(parts) != 3 or parts[0] != "aws":
        return False
    try:
        cls = getattr(importlib.import_module(_module_name(token)), parts[2])
    except (ImportError, AttributeError):
        return False
    init = getattr(cls, "_internal_init", None)
    return init is not None and "tags" in inspect.signature(init).parameters
