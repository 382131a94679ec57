"""The mock evaluation the tests use: the real program under Pulumi's mocks (see costs/graph.py,
which ``python -m costs`` shares)."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import pickle
from collections.abc import Callable
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
        _EVALUATED[key] = _shared(key, lambda: run_program(*arguments))
    return copy.deepcopy(_EVALUATED[key])


# Set by tests/conftest.py on the run's controller, for its workers: a folder of their graphs.
SHARED_GRAPHS = "LAMBDA_ALB_SHARED_GRAPHS"


def _shared(key: str, run: Callable[[], Graph]) -> Graph:
    """A graph another worker of this test run already evaluated, else ``run()``'s, left for the
    others (a seventh of the suite's CPU went to evaluating graphs another worker had). The folder
    is the run's own and goes with it, so a change of the program is never served an old graph."""
    folder = os.environ.get(SHARED_GRAPHS)
    if not folder:
        return run()
    path = Path(folder) / hashlib.sha256(key.encode()).hexdigest()
    if path.exists():
        with path.open("rb") as stored:
            graph: Graph = pickle.load(stored)  # noqa: S301 - written by this run's own workers
        return graph
    graph = run()
    partial = path.with_suffix(f".{os.getpid()}")
    partial.write_bytes(pickle.dumps(graph))
    os.replace(partial, path)  # whole or absent: another worker never reads half a graph
    return graph
