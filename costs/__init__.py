"""The monthly cost of a stack, from its own resource graph (evaluated under mocks) and one price list.

``python -m costs --stack prod [--requests-per-month N ...]``; see docs/costs.md.
"""
