"""lambda-alb's building blocks.

``settings`` and ``rules`` are plain Python (no Pulumi) and shared with the local ALB; the Pulumi
side is ``config`` (reading the stack), ``service`` (the component) and its parts.
"""
