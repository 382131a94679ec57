"""The mock evaluation the tests use: the real program under Pulumi's mocks (see costs/graph.py,
which ``python -m costs`` shares)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from costs.graph import (
    ACCOUNT,
    PROJECT,
    ROOT,
    AwsMocks,
    Graph,
    RecordingMonitor,
    Registration,
    load_stack,
    with_,
)
from costs.graph import evaluate as run_program

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

# Graphs of this project's program already evaluated in this worker, by their arguments.
_EVALUATED: dict[str, Graph] = {}


def evaluate(
    config: dict[str, Any],
    stack: str = "dev",
    mocks: AwsMocks | None = None,
    monitor: RecordingMonitor | None = None,
    preview: bool = False,
    program_dir: Path = ROOT,
    project: str = PROJECT,
    secret_keys: list[str] | None = None,
) -> Graph:
    """``costs.graph.evaluate``, run once per worker for each configuration of this project's program
    (a fifth of the suite's evaluations repeat one): the same configuration registers the same
    resources, and each caller gets its own copy. A test that brings its own mocks or monitor (to
    watch the registration) or another program (whose files it may change) always runs it."""
    arguments = (config, stack, mocks, monitor, preview, program_dir, project, secret_keys)
    if mocks is not None or monitor is not None or Path(program_dir) != ROOT:
        return run_program(*arguments)
    key = json.dumps([config, stack, preview, project, secret_keys], sort_keys=True, default=repr)
    if key not in _EVALUATED:
        _EVALUATED[key] = run_program(*arguments)
    return copy.deepcopy(_EVALUATED[key])
