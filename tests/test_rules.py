"""The rule model's ALB semantics, as the local ALB will apply them to real requests."""

import pytest

from components import rules as r


def req(path="/", method="GET", query="", headers=(), source_ip="203.0.113.9") -> r.Request:
    return r.Request(method=method, path=path, query=query, headers=tuple(headers), source_ip=source_ip)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/api/*", "/api/v1/users", True),  # * crosses /
        ("/api/*", "/api", False),
        ("/api*", "/api", True),  # * may match nothing
        ("/img/?.png", "/img/a.png", True),
        ("/img/?.png", "/img/ab.png", False),
        ("/Admin", "/admin", False),  # case-sensitive
        ("/a.b", "/axb", False),  # . is literal
    ],
)
def test_path_pattern_wildcards_and_case(pattern, path, matches):
    assert r.PathPattern((pattern,)).matches(req(path=path)) is matches


def test_host_header_is_case_insensitive_and_ignores_the_port():
    cond = r.HostHeader(("*.Example.com",))
    assert cond.matches(req(headers=[("Host", "API.example.COM:8080")]))
    assert not cond.matches(req(headers=[("Host", "example.com")]))  # *. needs a subdomain


def test_http_header_name_and_value_are_case_insensitive():
    cond = r.HttpHeader("X-Env", ("beta*",))
    assert cond.matches(req(headers=[("x-env", "BETA-2")]))
    assert not cond.matches(req(headers=[("x-other", "beta")]))


def test_request_method_is_exact_and_case_sensitive():
    cond = r.RequestMethod(("GET", "HEAD"))
    assert cond.matches(req(method="HEAD"))
    assert not cond.matches(req(method="get"))


def test_query_string_pairs_are_ored_case_insensitive_and_raw():
    cond = r.QueryString((("version", "v2"), (None, "debug")))
    assert cond.matches(req(query="Version=V2"))
    assert cond.matches(req(query="x=debug"))  # a pair without key matches any key
    assert not cond.matches(req(query="version=v3"))
    assert r.QueryString((("q", "a%20b"),)).matches(req(query="q=a%20b"))  # never decoded


def test_escaped_wildcards_in_query_strings_are_literal():
    cond = r.QueryString((("q", "a\\*"),))
    assert cond.matches(req(query="q=a*"))
    assert not cond.matches(req(query="q=abc"))


def test_source_ip_uses_the_tcp_peer_not_x_forwarded_for():
    cond = r.SourceIp(("10.0.0.0/8", "2001:db8::/32"))
    assert cond.matches(req(source_ip="10.1.2.3"))
    assert cond.matches(req(source_ip="2001:db8::1"))
    assert not cond.matches(req(source_ip="203.0.113.9", headers=[("X-Forwarded-For", "10.1.2.3")]))


def test_conditions_are_anded_and_rules_run_in_priority_order():
    api_post = r.Rule(20, (r.PathPattern(("/api/*",)), r.RequestMethod(("POST",))), r.FixedResponse(201))
    api_any = r.Rule(30, (r.PathPattern(("/api/*",)),), r.Forward())
    maintenance = r.Rule(10, (r.PathPattern(("/api/admin",)),), r.FixedResponse(503))
    rules = (api_any, api_post, maintenance)  # list order does not matter, priority does
    assert r.first_match(rules, req("/api/x", "POST")) is api_post
    assert r.first_match(rules, req("/api/x", "GET")) is api_any
    assert r.first_match(rules, req("/api/admin", "POST")) is maintenance
    assert r.first_match(rules, req("/other")) is None


def test_default_redirect_parts_keep_the_request_own():
    assert r.Redirect("HTTP_301").is_self_redirect()
    assert not r.Redirect("HTTP_301", path="/new").is_self_redirect()


def test_every_condition_is_one_class_declared_once_among_the_route_keys():
    from components.model import SNAKE, fields
    from components.route_settings import RouteArgs, RouteCondition

    declared = {s.name: s.kind.condition for s in fields(RouteArgs, SNAKE) if isinstance(s.kind, RouteCondition)}
    assert declared == {condition.field: condition for condition in r.CONDITIONS}


def test_every_condition_becomes_the_listener_rule_condition_of_its_kind():
    import pulumi_aws as aws

    samples = {
        r.PathPattern: r.PathPattern(("/a",)),
        r.HostHeader: r.HostHeader(("a.example.com",)),
        r.RequestMethod: r.RequestMethod(("GET",)),
        r.HttpHeader: r.HttpHeader("x-env", ("beta",)),
        r.QueryString: r.QueryString((("v", "2"),)),
        r.SourceIp: r.SourceIp(("10.0.0.0/8",)),
    }
    assert set(samples) == set(r.CONDITIONS)
    for condition in samples.values():
        rendered = condition.listener_condition()
        assert isinstance(rendered, aws.lb.ListenerRuleConditionArgs)
        names = ("path_pattern", "host_header", "http_request_method", "http_header", "query_strings", "source_ip")
        given = [name for name in names if rendered.__dict__.get(name) is not None]
        assert given == [condition.kind.replace("-", "_").replace("query_string", "query_strings")], condition
