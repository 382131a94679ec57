"""``python -m smoke --stack dev``: check a deployed stack end to end; exit 0 only if all pass."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from smoke.checks import Options, missing_outputs, run_checks


def load_outputs(stack: str, outputs_file: Path | None) -> dict:
    if outputs_file is not None:
        return json.loads(outputs_file.read_text())
    try:
        completed = subprocess.run(
            ["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", stack],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise SystemExit("smoke: the pulumi CLI is not on PATH; install it, or pass --outputs FILE") from None
    if completed.returncode != 0:
        raise SystemExit(f"smoke: pulumi stack output failed for stack {stack!r}: {completed.stderr.strip()}")
    return json.loads(completed.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smoke", description="Check that a deployed stack is serving.")
    parser.add_argument("--stack", required=True, help="the stack to check, e.g. dev")
    parser.add_argument("--outputs", type=Path, help="stack outputs as JSON (default: pulumi stack output --json)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the ALB and URL (300)")
    parser.add_argument("--url", help="GET this URL instead of the url output (e.g. your custom domain)")
    parser.add_argument("--wait-logs", action="store_true", help="also wait for an access-log object in S3")
    parser.add_argument("--logs-timeout", type=float, default=600, help="seconds to wait for logs (600)")
    args = parser.parse_args(argv)
    try:
        outputs = load_outputs(args.stack, args.outputs)
    except (OSError, ValueError) as exc:
        print(f"smoke: cannot read the stack outputs: {exc}", file=sys.stderr)
        return 2
    if not isinstance(outputs, dict):
        print(f"smoke: the outputs are a {type(outputs).__name__}, not an object of stack outputs", file=sys.stderr)
        return 2
    missing = missing_outputs(outputs)
    if missing:
        print(f"smoke: the outputs of stack {args.stack!r} lack {', '.join(missing)}", file=sys.stderr)
        return 2
    options = Options(timeout=args.timeout, wait_logs=args.wait_logs, logs_timeout=args.logs_timeout, url=args.url)
    print(f"Smoke check of stack {args.stack!r}")
    results = run_checks(outputs, options)
    for result in results:
        print(result.line())
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed} of {len(results)} checks passed" + (f", {failed} failed" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
