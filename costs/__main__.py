"""``python -m costs --stack prod [--requests-per-month N ...]``: a stack's monthly estimate.

``python -m costs compare BASE.json HEAD.json``: two estimates side by side, with the difference.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import pulumi

from components.stackfiles import StackFileError
from costs.estimate import Assumptions, UnknownRegion, estimate
from costs.graph import AwsMocks, evaluate, load_stack
from costs.report import compare, render


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m costs", description=__doc__)
    parser.add_argument("--stack", required=True, help="the stack whose Pulumi.<stack>.yaml is priced")
    parser.add_argument("--project-dir", type=Path, default=Path.cwd(), help="where Pulumi.yaml is (default: here)")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    for f in dataclasses.fields(Assumptions):
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default,
                            help=f"assumption (default {f.default})")  # fmt: skip
    return parser


def main(argv: list[str]) -> int:
    """Print the estimate (or the comparison); 2 with a message when the region has no prices."""
    if argv[:1] == ["compare"]:
        if len(argv) != 3:
            print("usage: python -m costs compare BASE.json HEAD.json", file=sys.stderr)
            return 2
        print(compare(Path(argv[1]).read_text(), Path(argv[2]).read_text()))
        return 0
    args = _parser().parse_args(argv)
    assumptions = Assumptions(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Assumptions)})
    try:
        config = load_stack(args.stack, args.project_dir)
        region = str(config.get("aws:region", "us-east-1"))
        mocks = AwsMocks(region=region, default_subnets=assumptions.zones)
        # A prod-like stack may hold a placeholder certificate only a preview accepts: price it as a preview.
        graph = evaluate(config, args.stack, mocks=mocks, preview=True, program_dir=args.project_dir.resolve())
        result = estimate(graph, args.stack, region, assumptions)
    except (StackFileError, UnknownRegion, pulumi.RunError) as error:
        # A missing or unreadable stack file, a configuration the program refuses, or no prices.
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(result.to_json() if args.format == "json" else render(result, markdown=args.format == "markdown"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
