"""How an estimate reads: a table of its items, or two estimates side by side."""

from __future__ import annotations

import json
from dataclasses import asdict

from costs.estimate import Estimate


def _money(usd: float) -> str:
    return f"${usd:,.2f}"


def render(estimate: Estimate, markdown: bool = False) -> str:
    """The estimate's lines, its total and its assumptions."""
    a = asdict(estimate.assumptions)
    assumed = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in a.items())
    rows = [(i.label, f"{i.quantity:,.2f} {i.unit}", _money(i.usd)) for i in estimate.items]
    title = f"{estimate.stack} ({estimate.region}): about {_money(estimate.total)} a month"
    unpriced = [f"Not priced (no price in costs/prices.json yet): {item}." for item in estimate.not_priced]
    if markdown:
        lines = [f"**{title}**", "", "| item | quantity | per month |", "|---|---:|---:|"]
        lines += [f"| {label} | {qty} | {usd} |" for label, qty, usd in rows]
        return "\n".join([*lines, "", f"Assumed: {assumed}. List prices, no free tier.", *unpriced])
    width = max(len(r[0]) for r in rows) if rows else 10
    lines = [title, ""] + [f"  {label:<{width}}  {qty:>26}  {usd:>10}" for label, qty, usd in rows]
    return "\n".join([*lines, "", f"Assumed: {assumed}. List prices, no free tier.", *unpriced])


def compare(base_json: str, head_json: str) -> str:
    """Markdown: each item's base and head monthly price and the difference, then the totals."""
    base, head = json.loads(base_json), json.loads(head_json)
    before = {i["key"]: i for i in base["items"]}
    after = {i["key"]: i for i in head["items"]}
    keys = list(before) + [k for k in after if k not in before]
    lines = [f"**Monthly cost of `{head['stack']}` ({head['region']})**", "",
             "| item | base | head | difference |", "|---|---:|---:|---:|"]  # fmt: skip
    for key in keys:
        old, new = before.get(key), after.get(key)
        b, h = (old or {}).get("usd", 0.0), (new or {}).get("usd", 0.0)
        label = (new or old or {})["label"]
        lines.append(f"| {label} | {_money(b) if old else '-'} | {_money(h) if new else '-'} | {h - b:+,.2f} |")
    lines.append(f"| **total** | **{_money(base['total'])}** | **{_money(head['total'])}** | "
                 f"**{head['total'] - base['total']:+,.2f}** |")  # fmt: skip
    return "\n".join(lines)
