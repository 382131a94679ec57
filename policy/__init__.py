"""The lambda-alb policy pack: the security baseline as plain functions over a resource's properties.

``policy.rules`` lists the policies, whose checks live by family in the other modules (no Pulumi
import: tests call them directly); ``policy.pack`` wires them into a ``pulumi_policy.PolicyPack``
for ``pulumi preview --policy-pack policy``.
"""
