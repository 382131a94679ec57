"""Drift detection's two halves, for .github/workflows/drift.yml (standard library only).

``classify``: from the exit code and output of ``pulumi preview --refresh --expect-no-changes``,
write ``<stack>.json`` with the status: clean (exit 0), drifted (the CLI's "no changes were
expected" error), or error (anything else: no issue is touched, the job fails).

``report``: for each report, open or update the stack's issue when it drifted, close it when it is
clean again (through the ``gh`` CLI; needs ``GH_TOKEN`` and ``GH_REPO``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

DRIFTED_RE = re.compile(r"no changes were expected( for \S+)? but changes were proposed")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MAX_BODY = 60_000  # GitHub refuses issue bodies over 65,536 characters


def classify(exit_code: int, output: str) -> str:
    """clean, drifted or error."""
    if exit_code == 0:
        return "clean"
    return "drifted" if DRIFTED_RE.search(output) else "error"


def title(stack: str) -> str:
    """The one issue per stack is found again by its title."""
    return f"Drift detected in stack {stack}"


def body(stack: str, output: str, run_url: str) -> str:
    """The issue's text: what drifted (the preview's diff; Pulumi shows secrets as [secret])."""
    diff = ANSI_RE.sub("", output)
    if len(diff) > MAX_BODY:
        diff = "...(start cut, see the run)\n" + diff[-MAX_BODY:]
    return (
        f"`pulumi preview --refresh --expect-no-changes` of `{stack}` found resources that no longer match the code "
        f"([run]({run_url})).\n\nEither bring the code in line (the change was wanted) or run `pulumi up -s {stack}` "
        "to put the resources back. This issue closes itself when the stack is clean again.\n\n"
        f"```\n{diff}\n```\n"
    )


def _gh(*args: str) -> str:
    return subprocess.run(["gh", *args], check=True, capture_output=True, text=True).stdout


def open_issue(stack: str) -> int | None:
    """The number of the stack's open drift issue, if there is one."""
    found = json.loads(_gh("issue", "list", "--state", "open", "--search", f'"{title(stack)}" in:title',
                           "--json", "number,title"))  # fmt: skip
    return next((i["number"] for i in found if i["title"] == title(stack)), None)


def report(directory: Path, run_url: str) -> None:
    """Open, update or close one issue per stack from the reports in ``directory``."""
    for path in sorted(directory.glob("*.json")):
        result = json.loads(path.read_text())
        stack, status = result["stack"], result["status"]
        number = open_issue(stack)
        if status == "drifted":
            text = body(stack, result["output"], run_url)
            if number is None:
                _gh("issue", "create", "--title", title(stack), "--body", text)
            else:
                _gh("issue", "edit", str(number), "--body", text)
        elif status == "clean" and number is not None:
            _gh("issue", "close", str(number), "--comment", f"`{stack}` matches its code again ({run_url}).")
        print(f"{stack}: {status}")


def main(argv: list[str]) -> int:
    """``classify STACK EXIT_CODE OUTPUT_FILE OUT_DIR`` or ``report DIR RUN_URL``."""
    if argv[:1] == ["classify"] and len(argv) == 5:
        stack, code, output_file, out_dir = argv[1], int(argv[2]), Path(argv[3]), Path(argv[4])
        output = output_file.read_text(errors="replace")
        status = classify(code, output)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / f"{stack}.json").write_text(json.dumps({"stack": stack, "status": status, "output": output}))
        print(f"{stack}: {status}")
        return 1 if status == "error" else 0
    if argv[:1] == ["report"] and len(argv) == 3:
        report(Path(argv[1]), argv[2])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
