"""localalb: run a stack's function on your machine behind a faithful local Application Load Balancer.

Development only: ``python -m localalb serve --stack dev``. The stack's own configuration (its
routes, default action, header mode and function settings) is read through the same settings
code as the Pulumi program; the ALB behaviour (events, response validation, limits, access logs)
follows docs/alb-behaviour.md; what is and is not emulated is in docs/local-alb.md.
"""
