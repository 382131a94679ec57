"""lambda-alb: read the stack's settings, build the service, export its outputs."""

from pathlib import Path

import pulumi

from components.config import load_settings
from components.service import LambdaAlbService, outputs

PROJECT_DIR = Path(__file__).resolve().parent

settings = load_settings(PROJECT_DIR)
# Named after the stack unless the stack file pins serviceName (a pinned name survives `pulumi stack rename`).
name = settings.service_name or f"{pulumi.get_project()}-{pulumi.get_stack()}"
service = LambdaAlbService(name, settings, project_dir=PROJECT_DIR)

for output in outputs():
    pulumi.export(output.export, getattr(service, output.attribute))
