"""Settings validation: each class of bad input is reported with its key path, value and what is allowed."""

from pathlib import Path

import pytest

from components import rules as r
from components.settings import SettingsError, parse_settings
from components.stackfiles import stack_config

ROOT = Path(__file__).resolve().parent.parent


def problems(values: dict, project_dir: Path | None = ROOT) -> list[str]:
    with pytest.raises(SettingsError) as info:
        parse_settings(values, project_dir)
    return info.value.problems


def one_problem(values: dict) -> str:
    found = problems(values)
    assert len(found) == 1, found
    return found[0]


def test_empty_configuration_gives_secure_defaults():
    settings = parse_settings({}, ROOT)
    assert settings.function.runtime == "python3.13"
    assert settings.function.architecture == "arm64"
    assert settings.load_balancer.deletion_protection is True
    assert settings.load_balancer.ssl_policy == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert settings.load_balancer.desync_mitigation_mode == "defensive"
    assert settings.access_logs.enabled is True and settings.access_logs.protect is True
    assert settings.load_balancer.health_check.enabled is False
    assert isinstance(settings.load_balancer.default_action, r.Forward)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_real_stack_files_are_valid(stack):
    values = {k.split(":", 1)[1]: v for k, v in stack_config(ROOT, stack).items() if k.startswith("lambda-alb:")}
    parse_settings(values, ROOT)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"function": {"memorySize": 64}}, "function.memorySize: 64 is outside 128-10240 MB"),
        ({"function": {"memorySize": "512"}}, "function.memorySize: '512' is not an integer"),
        ({"function": {"timeout": 901}}, "function.timeout: 901 is outside 1-900 seconds"),
        ({"function": {"runtime": "python3.9"}}, "function.runtime: 'python3.9' is not allowed"),
        ({"function": {"architecture": "arm"}}, "(did you mean 'arm64'?)"),
        ({"function": {"tracing": "active"}}, "(did you mean 'Active'?)"),
        ({"function": {"logRetentionDays": 10}}, "function.logRetentionDays: 10 is not a retention CloudWatch"),
        ({"function": {"reservedConcurrency": 0}}, "function.reservedConcurrency: 0 would throttle every request"),
        ({"function": {"environment": {"AWS_REGION": "x"}}}, "function.environment.AWS_REGION: reserved by AWS"),
        ({"function": {"environment": {"DEBUG": 1}}}, "function.environment.DEBUG: 1 is not a string"),
        ({"function": {"handler": "app"}}, "function.handler: 'app' is not a handler"),
        ({"function": {"environment": {"X": "1"}}}, "function.environment.X: not a valid variable name"),
        ({"function": {"handler": "missing.handler"}}, "function/missing.py does not exist"),
        ({"function": {"codeDir": "nowhere"}}, "function.codeDir: 'nowhere' is not a directory"),
        ({"loadBalancer": {"idleTimeout": 0}}, "loadBalancer.idleTimeout: 0 is outside 1-4000 seconds"),
        ({"loadBalancer": {"desyncMitigationMode": "monitor"}}, "use one of defensive, strictest"),
        ({"loadBalancer": {"internal": "yes"}}, "loadBalancer.internal: 'yes' is not a boolean"),
        ({"loadBalancer": {"allowedCidrs": ["10.0.0.1/8"]}}, "has host bits set; did you mean '10.0.0.0/8'?"),
        ({"loadBalancer": {"allowedCidrs": "0.0.0.0/0"}}, "loadBalancer.allowedCidrs: '0.0.0.0/0' is not a list"),
        ({"loadBalancer": {"subnetIds": ["subnet-0123456789abcdef0"]}}, "needs at least two"),
        ({"loadBalancer": {"subnetIds": ["sn-1", "sn-2"]}, "x": 1}, "'sn-1' is not a subnet ID"),
        ({"loadBalancer": {"vpcId": "vpc-0123456789abcdef0"}}, "loadBalancer.subnetIds: required when"),
        ({"loadBalancer": {"certificateArn": "arn:aws:s3:::bucket"}}, "is not an ACM certificate ARN"),
        ({"loadBalancer": {"httpRedirect": True}}, "loadBalancer.httpRedirect: true needs loadBalancer.certificateArn"),
        (
            {
                "loadBalancer": {
                    "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
                    "sslPolicy": "ELBSecurityPolicy-2016-08",
                }
            },
            "loadBalancer.sslPolicy: 'ELBSecurityPolicy-2016-08' is not allowed",
        ),
        (
            {"loadBalancer": {"healthCheck": {"interval": 20, "timeout": 30}}},
            "loadBalancer.healthCheck.interval: 20 must be greater than loadBalancer.healthCheck.timeout (30)",
        ),
        ({"loadBalancer": {"healthCheck": {"matcher": "200,500"}}}, "has codes outside 200-499"),
        ({"loadBalancer": {"defaultAction": "drop"}}, "loadBalancer.defaultAction: 'drop' is not allowed"),
        ({"accessLogs": {"prefix": "logs/AWSLogs"}}, "contains AWSLogs"),
        ({"accessLogs": {"prefix": "/alb/"}}, "must not start or end with /"),
        ({"accessLogs": {"forceDestroy": True}}, "accessLogs.forceDestroy: true conflicts with accessLogs.protect"),
        ({"accessLogs": {"expirationDays": 0}}, "accessLogs.expirationDays: 0 is outside 1-3650 days"),
    ],
)
def test_bad_value_is_named_with_its_path_value_and_what_is_allowed(values, expected):
    found = problems(values)
    assert any(expected in p for p in found), found


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"function": {"timeout": None}},
            "function.timeout: has no value; give one or remove the key for the default (10)",
        ),
        ({"function": {"handler": None}}, "function.handler: has no value"),
        (
            {"loadBalancer": {"healthCheck": {"interval": None, "timeout": 10}}},
            "loadBalancer.healthCheck.interval: has no value",
        ),
        (
            {"function": {"canaryWeight": 10, "stableVersion": None}},
            "function.canaryWeight: 10 needs function.stableVersion",
        ),
        ({"function": {"codeDir": "../.."}}, "function.codeDir: '../..' is outside the project"),
    ],
)
def test_a_key_without_a_value_is_an_error_not_a_silent_default(values, expected):
    found = problems(values)
    assert any(p.startswith(expected) for p in found), found


def test_null_reserved_concurrency_means_unreserved():
    assert parse_settings({"function": {"reservedConcurrency": None}}, ROOT).function.reserved_concurrency is None


def test_unknown_nested_key_gets_a_did_you_mean_hint():
    message = one_problem({"function": {"memroySize": 512}})
    assert message.startswith("function.memroySize: unknown key (did you mean 'memorySize'?)")


def test_unknown_top_level_key_gets_a_did_you_mean_hint():
    message = one_problem({"fucntion": {}})
    assert "lambda-alb:fucntion: unknown key (did you mean 'function'?)" in message


def test_flat_dotted_key_suggests_config_set_path():
    message = one_problem({"function.memorySize": "512"})
    assert "pulumi config set --path 'function.memorySize'" in message


def test_every_problem_is_reported_at_once():
    found = problems(
        {
            "function": {"memorySize": 1, "timeout": 0},
            "loadBalancer": {"idleTimeout": 99999},
            "routes": [{"priority": 0, "pathPatterns": ["/a"]}],
        }
    )
    assert len(found) == 4, found


# --- routes ------------------------------------------------------------------------------------


def route_problems(*routes) -> list[str]:
    return problems({"routes": list(routes)})


def test_route_priorities_must_be_unique():
    found = route_problems({"priority": 5, "pathPatterns": ["/a"]}, {"priority": 5, "pathPatterns": ["/b"]})
    assert found == ["routes[1].priority: 5 is already used by routes[0]; priorities must be unique"]


@pytest.mark.parametrize("priority", [0, 50001, "1", None])
def test_route_priority_outside_range_is_refused(priority):
    (found,) = route_problems({"priority": priority, "pathPatterns": ["/a"]})
    assert found.startswith(f"routes[0].priority: {priority!r} is outside 1-50000")


def test_route_without_priority_or_condition_is_refused():
    found = route_problems({"fixedResponse": {"statusCode": 200}})
    assert any(p.startswith("routes[0].priority: missing") for p in found)
    assert any(p.startswith("routes[0]: no condition") for p in found)


def test_route_with_more_than_five_condition_values_is_refused():
    (found,) = route_problems({"priority": 1, "pathPatterns": ["/a", "/b", "/c"], "methods": ["GET", "PUT", "POST"]})
    assert found.startswith("routes[0]: 6 condition values; ALB allows at most 5 per rule")


def test_route_with_more_than_five_wildcards_is_refused():
    (found,) = route_problems({"priority": 1, "pathPatterns": ["/*/*/*", "/?/?/?"]})
    assert "6 wildcards" in found


def test_condition_value_over_128_characters_is_refused():
    (found,) = route_problems({"priority": 1, "pathPatterns": ["/" + "a" * 128]})
    assert found.startswith("routes[0].pathPatterns[0]:") and "at most 128" in found


def test_lowercase_method_gets_an_uppercase_hint():
    (found,) = route_problems({"priority": 1, "methods": ["get"]})
    assert "(did you mean 'GET'?)" in found


def test_route_with_fixed_response_and_redirect_is_refused():
    found = route_problems(
        {
            "priority": 1,
            "pathPatterns": ["/a"],
            "fixedResponse": {"statusCode": 200},
            "redirect": {"path": "/b", "statusCode": "HTTP_301"},
        }
    )
    assert "routes[0]: has both fixedResponse and redirect" in found[0]


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ({"fixedResponse": {"statusCode": 302}}, "routes[0].fixedResponse.statusCode: 302 is not allowed"),
        ({"fixedResponse": {"statusCode": "403"}}, "routes[0].fixedResponse.statusCode: '403' is not allowed"),
        ({"fixedResponse": {"statusCode": 200, "contentType": "text/xml"}}, "contentType: 'text/xml' is not allowed"),
        ({"fixedResponse": {"statusCode": 200, "body": "x" * 1025}}, "1025 characters; at most 1024"),
        ({"redirect": {"path": "/b", "statusCode": "301"}}, "redirect.statusCode: '301' is not allowed"),
        ({"redirect": {"path": "b", "statusCode": "HTTP_301"}}, "redirect.path: 'b' must start with /"),
        ({"redirect": {"statusCode": "HTTP_301"}}, "redirects to itself"),
        ({"redirect": {"port": "99999", "statusCode": "HTTP_301"}}, "redirect.port: '99999' is not a port"),
    ],
)
def test_bad_route_action_is_refused(action, expected):
    found = route_problems({"priority": 1, "pathPatterns": ["/a"], **action})
    assert any(expected in p for p in found), found


def test_redirect_from_https_to_http_is_refused():
    found = problems(
        {
            "loadBalancer": {"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"},
            "routes": [
                {"priority": 1, "pathPatterns": ["/a"], "redirect": {"protocol": "HTTP", "statusCode": "HTTP_301"}}
            ],
        }
    )
    assert found == [
        "routes[0].redirect.protocol: HTTP on the HTTPS listener; ALB does not allow redirects from HTTPS to HTTP"
    ]


def test_a_header_condition_on_host_points_to_hosts():
    (found,) = route_problems({"priority": 1, "headers": {"Host": ["a.example.com"]}})
    assert found == "routes[0].headers.Host: ALB refuses a header condition on Host; use hosts instead"


def test_a_redirect_host_must_be_a_host_name():
    (found,) = route_problems(
        {"priority": 1, "pathPatterns": ["/a"], "redirect": {"host": "a b/c", "statusCode": "HTTP_301"}}
    )
    assert found.startswith("routes[0].redirect.host: 'a b/c' is not a host name")


def test_source_ip_and_query_string_values_are_checked():
    found = route_problems(
        {"priority": 1, "sourceIps": ["10.0.0.0/33"]},
        {"priority": 2, "queryStrings": [{"key": "v"}]},
    )
    assert any(p.startswith("routes[0].sourceIps[0]: '10.0.0.0/33' is not a CIDR block") for p in found)
    assert any(p.startswith("routes[1].queryStrings[0].value: None is not a string") for p in found)


def test_more_than_100_routes_exceed_the_quota():
    routes = [{"priority": i + 1, "pathPatterns": [f"/{i}"]} for i in range(101)]
    assert route_problems(*routes) == ["routes: 101 routes; a load balancer allows at most 100 rules (default quota)"]


def test_routes_parse_to_rule_objects():
    settings = parse_settings(
        {"routes": [{"priority": 3, "pathPatterns": ["/api/*"], "headers": {"x-env": ["beta"]}}]}, ROOT
    )
    (rule,) = settings.routes
    assert rule == r.Rule(3, (r.PathPattern(("/api/*",)), r.HttpHeader("x-env", ("beta",))), r.Forward())


def test_the_code_only_key_is_refused_in_a_stack_file_with_the_key_to_use_instead():
    assert one_problem({"function": {"code": "x"}}) == (
        "function.code: only a program can give a package (a pulumi.Archive); a stack file gives codeDir"
    )
