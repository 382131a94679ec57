"""How secret and unknown values reach a policy, in one representation for the pack and the tests.

On the wire (the engine's gRPC structs, and what ``pulumi.runtime.rpc.deserialize_properties``
returns under mocks) a secret is a map ``{<sig key>: <secret sig>, "value": ...}`` and a value not
known until the update is a sentinel string. ``mark`` turns both into markers a policy can test
with ``isinstance``; ``plain`` removes the secret markers again for checks that only read values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
# The engine's sentinels for values computed during the update (pulumi_policy.proxy has the same).
UNKNOWN_SENTINELS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
        "030794c1-ac77-496b-92df-f27374a8bd58",
        "e48ece36-62e2-4504-bad9-02848725956a",
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    }
)


@dataclass(frozen=True)
class Secret:
    """A value the program marked secret (Pulumi encrypts it in the state)."""

    value: Any


class _Unknown:
    """A value computed during the update: a preview cannot judge it."""

    def __repr__(self) -> str:
        return "<unknown during preview>"


UNKNOWN = _Unknown()


def mark(value: Any) -> Any:
    """``value`` with wire-format secrets as ``Secret`` and unknown sentinels as ``UNKNOWN``."""
    if isinstance(value, Mapping):
        if value.get(SIG_KEY) == SECRET_SIG:
            return Secret(mark(value.get("value")))
        return {k: mark(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mark(v) for v in value]
    if isinstance(value, str) and value in UNKNOWN_SENTINELS:
        return UNKNOWN
    return value


def plain(value: Any) -> Any:
    """``value`` with every ``Secret`` replaced by what it holds."""
    if isinstance(value, Secret):
        return plain(value.value)
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
