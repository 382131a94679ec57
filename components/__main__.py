"""The component package's entry point: the Pulumi CLI runs this file to host LambdaAlbService."""

import sys
from pathlib import Path

# Run as a script from this folder: make the folder importable as the package it is.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi.provider.experimental import component_provider_host  # noqa: E402

from components.provider import LambdaAlbService  # noqa: E402

if __name__ == "__main__":
    component_provider_host(components=[LambdaAlbService], name="lambda-alb")
