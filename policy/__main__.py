"""Entry point the Pulumi CLI runs for ``--policy-pack policy`` (from this folder)."""

import sys
from pathlib import Path

# The CLI runs this file from the pack's folder; the policies import as the `policy` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policy.pack import main  # noqa: E402

main()
