"""The cost of a stack: priced from its own resource graph, item by item, under stated assumptions."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from costs import __main__ as cli
from costs.estimate import PRICES_FILE, Assumptions, UnknownRegion, estimate, load_prices
from costs.report import compare
from tests.harness import ROOT, AwsMocks, Graph, evaluate, with_

# Each item of the estimate and the resource type that makes it exist.
ITEM_SOURCES = {
    "alb-hours": "aws:lb/loadBalancer:LoadBalancer",
    "alb-lcu": "aws:lb/loadBalancer:LoadBalancer",
    "public-ipv4": "aws:lb/loadBalancer:LoadBalancer",
    "lambda-requests": "aws:lambda/function:Function",
    "lambda-duration": "aws:lambda/function:Function",
    "lambda-provisioned": "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig",
    "logs-ingestion": "aws:cloudwatch/logGroup:LogGroup",
    "logs-storage": "aws:cloudwatch/logGroup:LogGroup",
    "alarms": "aws:cloudwatch/metricAlarm:MetricAlarm",
    "dashboards": "aws:cloudwatch/dashboard:Dashboard",
    "waf-acl": "aws:wafv2/webAcl:WebAcl",
    "waf-rules": "aws:wafv2/webAcl:WebAcl",
    "waf-requests": "aws:wafv2/webAcl:WebAcl",
    "kms-keys": "aws:kms/key:Key",
    "s3-log-storage": "aws:s3/bucket:Bucket",
    "s3-log-puts": "aws:s3/bucket:Bucket",
}


def priced(graph: Graph, **assumed) -> dict[str, float]:
    result = estimate(graph, "s", "us-east-1", Assumptions(**assumed))
    return {item.key: item.usd for item in result.items}


@pytest.mark.parametrize("stack", ["dev", "prod", "dev with warm instances"])
def test_each_price_item_appears_exactly_when_its_resource_exists(stack, request):
    if stack == "dev with warm instances":
        graph = evaluate(with_("dev", function={"provisionedConcurrency": 1}), "dev")
    else:
        graph = request.getfixturevalue(stack)
    items = {key.split(":")[0] for key in priced(graph)}
    for item, typ in ITEM_SOURCES.items():
        assert (item in items) == bool(graph.of_type(typ)), (stack, item)
    assert items <= set(ITEM_SOURCES)


def test_dev_pays_for_no_waf_alarms_dashboard_or_key_and_prod_does(dev, prod):
    dev_items, prod_items = priced(dev), priced(prod)
    operations = {"waf-acl", "waf-rules", "waf-requests", "alarms", "dashboards", "kms-keys"}
    assert not operations & set(dev_items)
    assert operations <= set(prod_items)
    assert prod_items["waf-rules"] == len(prod.one("aws:wafv2/webAcl:WebAcl").inputs["rules"]) * 1.00
    assert prod_items["alarms"] == pytest.approx(len(prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")) * 0.10)


def test_one_log_group_line_per_log_group(prod):
    names = {g.inputs["name"] for g in prod.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert {k.split(":", 1)[1] for k in priced(prod) if k.startswith("logs-ingestion:")} == names


def test_traffic_items_scale_with_the_requests_and_fixed_items_do_not(prod):
    once, twice = priced(prod), priced(prod, requests_per_month=2_000_000)
    for key in ("lambda-requests", "lambda-duration", "waf-requests", "logs-ingestion:/aws/lambda/lambda-alb-prod"):
        assert twice[key] == pytest.approx(2 * once[key]), key
    for key in ("alb-hours", "public-ipv4", "waf-acl", "waf-rules", "alarms", "dashboards", "kms-keys", "s3-log-puts"):
        assert twice[key] == once[key], key


def test_duration_scales_with_time_memory_and_architecture(dev):
    base = priced(dev)["lambda-duration"]
    assert priced(dev, duration_ms=100)["lambda-duration"] == pytest.approx(2 * base)
    bigger = evaluate(with_("dev", function={"memorySize": 512}), "dev")
    assert priced(bigger)["lambda-duration"] == pytest.approx(2 * base)
    x86 = evaluate(with_("dev", function={"architecture": "x86_64"}), "dev")
    assert priced(x86)["lambda-duration"] == pytest.approx(base * 0.0000166667 / 0.0000133334)


def test_every_load_balancer_zone_is_a_public_address_and_an_internal_one_has_none(dev):
    three = priced(dev)["public-ipv4"]
    assert three == pytest.approx(3 * 730 * 0.005)
    two = evaluate(with_("dev"), "dev", mocks=AwsMocks(default_subnets=2))
    assert priced(two)["public-ipv4"] == pytest.approx(2 * 730 * 0.005)
    internal = evaluate(with_("dev", loadBalancer={"internal": True}), "dev")
    assert "public-ipv4" not in priced(internal)


def test_enabled_health_checks_are_billed_as_invocations(dev):
    checked = evaluate(with_("dev", loadBalancer={"healthCheck": {"enabled": True, "interval": 60}}), "dev")
    extra = priced(checked)["lambda-requests"] - priced(dev)["lambda-requests"]
    assert extra == pytest.approx(730 * 3600 / 60 * 3 / 1e6 * 0.20)


def test_rules_beyond_ten_add_capacity_units_only_under_heavy_traffic(prod):
    routes = [{"priority": p, "pathPatterns": [f"/p{p}"], "fixedResponse": {"statusCode": 404}} for p in range(1, 31)]
    many = evaluate(with_("prod", routes=routes), "prod", preview=True)
    heavy = {"requests_per_month": 5_000_000_000, "bytes_per_request": 1, "requests_per_connection": 1000.0}
    assert priced(many, **heavy)["alb-lcu"] > priced(prod, **heavy)["alb-lcu"]
    assert priced(many)["alb-lcu"] == priced(prod)["alb-lcu"]  # light traffic: bytes decide


def test_an_unknown_region_says_so_instead_of_guessing():
    graph = evaluate(with_("dev") | {"aws:region": "eu-south-2"}, "dev")
    with pytest.raises(UnknownRegion, match="no prices for region 'eu-south-2' in prices.json \\(it has us-east-1\\)"):
        estimate(graph, "dev", "eu-south-2", Assumptions())


def test_the_cli_prints_the_estimate_and_refuses_an_unknown_region(monkeypatch, capsys):
    assert cli.main(["--stack", "dev", "--format", "json", "--requests-per-month", "3000000"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["assumptions"]["requests_per_month"] == 3_000_000
    assert result["total"] == pytest.approx(sum(i["usd"] for i in result["items"]))
    for f in dataclasses.fields(Assumptions):
        assert f.name in result["assumptions"]
    far = with_("dev") | {"aws:region": "eu-south-2"}
    monkeypatch.setattr(cli, "load_stack", lambda stack, project_dir: far)
    assert cli.main(["--stack", "dev"]) == 2
    assert "no prices for region 'eu-south-2'" in capsys.readouterr().err


def test_the_cli_names_a_missing_stack_file_or_a_refused_configuration_without_a_traceback(tmp_path, capsys):
    assert cli.main(["--stack", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Pulumi.nope.yaml: no such file" in err
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(ROOT / "__main__.py", tmp_path / "__main__.py")
    (tmp_path / "Pulumi.bad.yaml").write_text("config:\n  lambda-alb:function:\n    memorySize: 1\n")
    assert cli.main(["--stack", "bad", "--project-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "function.memorySize: 1 is outside 128-10240 MB" in err
    assert "Traceback" not in err


def test_base_and_head_side_by_side_with_the_difference(dev, prod):
    base = estimate(dev, "dev", "us-east-1", Assumptions()).to_json()
    head = estimate(prod, "dev", "us-east-1", Assumptions()).to_json()
    table = compare(base, head)
    assert "| WAF web ACL | - | $5.00 | +5.00 |" in table
    assert "| Load balancer hours | $16.43 | $16.43 | +0.00 |" in table
    totals = json.loads(base)["total"], json.loads(head)["total"]
    assert f"**{totals[1] - totals[0]:+,.2f}**" in table.splitlines()[-1]


def test_every_price_names_its_source():
    data = json.loads(PRICES_FILE.read_text())
    assert data["checked"] and data["hoursPerMonth"] == 730
    for region, prices in data["regions"].items():
        for name, price in prices.items():
            assert price["source"].startswith("https://aws.amazon.com/"), (region, name)
            assert price["readFrom"] and price["unit"], (region, name)


def test_several_functions_share_the_requests_and_each_is_priced_on_its_own_line():
    from tests.test_functions import two_functions

    graph = evaluate(two_functions("dev"), "dev")
    result = estimate(graph, "dev", "us-east-1", Assumptions(requests_per_month=1_000_000))
    requests = {i.key: i.quantity for i in result.items if i.key.startswith("lambda-requests")}
    assert set(requests) == {"lambda-requests:lambda-alb-dev-api", "lambda-requests:lambda-alb-dev-web"}
    assert sum(requests.values()) == pytest.approx(1_000_000)
    durations = {i.key: i.usd for i in result.items if i.key.startswith("lambda-duration")}
    api, web = durations["lambda-duration:lambda-alb-dev-api"], durations["lambda-duration:lambda-alb-dev-web"]
    assert api == pytest.approx(web * 2)  # api has 512 MB, web the default 256


def test_warm_instances_are_priced_for_every_hour_of_the_month_at_their_memory_and_architecture():
    prices, hours = load_prices("us-east-1")
    function = {"provisionedConcurrency": 2, "memorySize": 512, "architecture": "arm64"}
    result = estimate(evaluate(with_("dev", function=function), "dev"), "dev", "us-east-1", Assumptions())
    assert not result.not_priced
    (item,) = [i for i in result.items if i.key == "lambda-provisioned:lambda-alb-dev"]
    assert item.quantity == pytest.approx(2 * 0.5 * hours * 3600)
    assert item.usd == pytest.approx(item.quantity * prices["lambdaProvisionedGbSecond"]["arm64"])
    assert f"${item.usd:.2f} a month" in (ROOT / "docs" / "operations.md").read_text()  # the figure the docs give
    assert "2 x 512 MB arm64" in item.label
    unwarmed = estimate(evaluate(with_("dev"), "dev"), "dev", "us-east-1", Assumptions())
    assert not [i for i in unwarmed.items if i.key.startswith("lambda-provisioned")] and not unwarmed.not_priced


def test_what_has_a_cost_but_no_price_yet_is_said_not_skipped(tmp_path, monkeypatch):
    from costs import estimate as module
    from costs.report import render

    # A price file without the provisioned-concurrency price, as a region added later might be.
    data = json.loads(module.PRICES_FILE.read_text())
    del data["regions"]["us-east-1"]["lambdaProvisionedGbSecond"]
    (tmp_path / "prices.json").write_text(json.dumps(data))
    monkeypatch.setattr(module, "PRICES_FILE", tmp_path / "prices.json")
    graph = evaluate(with_("dev", function={"provisionedConcurrency": 2}), "dev")
    result = estimate(graph, "dev", "us-east-1", Assumptions())
    assert result.not_priced and "provisioned concurrency of lambda-alb-dev (2 instances)" in result.not_priced[0]
    assert "Not priced (no price in costs/prices.json yet): provisioned concurrency" in render(result)


def test_the_monthly_figures_the_readme_and_docs_give_are_the_estimates_of_the_committed_stacks(dev, prod):
    readme, costs_doc = (ROOT / "README.md").read_text(), (ROOT / "docs" / "costs.md").read_text()
    dev_total = estimate(dev, "dev", "us-east-1", Assumptions()).total
    prod_total = estimate(prod, "prod", "us-east-1", Assumptions()).total
    assert f"costs about ${dev_total:.0f} a month" in readme
    assert f"dev about ${dev_total:.0f} a month" in costs_doc and f"prod about ${prod_total:.0f} (" in costs_doc


def test_a_releases_checks_take_no_share_of_the_requests_and_a_release_adds_one_alarm():
    # CodeDeploy for Lambda is free; the checks run a few invocations per deploy, not the traffic.
    deployment = {"type": "Canary10Percent5Minutes", "preTraffic": {}, "postTraffic": {}}
    releasing = evaluate(with_("prod", function={"deployment": deployment}), "prod", preview=True)
    assert len(releasing.of_type("aws:lambda/function:Function")) == 3  # the function and its two checks
    plain = evaluate(with_("prod"), "prod", preview=True)
    with_release, without = priced(releasing), priced(plain)
    # One more alarm (the new version's errors, which the release watches); nothing else changes.
    alarm = load_prices("us-east-1")[0]["alarmMonth"]
    assert with_release.pop("alarms") == pytest.approx(without.pop("alarms") + float(alarm["usd"]))
    assert with_release == without
