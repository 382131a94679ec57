"""Runs one case of tests/component_cases.py as a Pulumi program (under the test harness's mocks)."""

import pulumi

from tests.component_cases import CASES

CASES[pulumi.Config("test").require("case")]()
