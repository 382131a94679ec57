"""The mock evaluation the tests use: the real program under Pulumi's mocks (see costs/graph.py,
which ``python -m costs`` shares)."""

from costs.graph import (
    ACCOUNT,
    PROJECT,
    ROOT,
    AwsMocks,
    Graph,
    RecordingMonitor,
    Registration,
    evaluate,
    load_stack,
    with_,
)

__all__ = [
    "ACCOUNT",
    "PROJECT",
    "ROOT",
    "AwsMocks",
    "Graph",
    "RecordingMonitor",
    "Registration",
    "evaluate",
    "load_stack",
    "with_",
]
