"""Property-based tests of the listener-rule matcher (components/rules.py) against ALB's rules as
written in docs/alb-behaviour.md, with a reference matcher of our own that shares no code with it.

``*`` is any run of characters (``/`` included), ``?`` exactly one; path patterns and methods are
case-sensitive, hosts, header names and values and query strings are not; a query pair without a
key matches any key, and ``\\*`` / ``\\?`` are literal there; source-ip is the TCP peer in a CIDR;
conditions are ANDed, values ORed, and the lowest matching priority wins.
"""

from __future__ import annotations

import functools
import ipaddress

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from components import rules as r

# What @given takes for this module's tests when it defines them.
DEFINED_WITH = settings.default
# ASCII only: ALB's case rules are ASCII case rules, and Unicode case folding is not specified.
TEXT = "abAB/.-_~9"
text = st.text(alphabet=TEXT, max_size=12)
patterns = st.text(alphabet=TEXT + "*?", min_size=1, max_size=10)


def reference_match(pattern: str, value: str, ignore_case: bool, escapes: bool = False) -> bool:
    """Does ``value`` match ``pattern`` by the written rule (dynamic programming, no regex)."""
    tokens: list[str | None] = []  # a literal character, "*" for any run, None for any one character
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if escapes and char == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*?":
            tokens.append("\\" + pattern[i + 1])
            i += 2
            continue
        tokens.append("*" if char == "*" else None if char == "?" else char)
        i += 1
    fold = str.lower if ignore_case else str

    @functools.cache
    def match(t: int, v: int) -> bool:
        if t == len(tokens):
            return v == len(value)
        token = tokens[t]
        if token == "*":
            return match(t + 1, v) or (v < len(value) and match(t, v + 1))
        if v == len(value):
            return False
        if token is None:
            return match(t + 1, v + 1)
        literal = token[1] if token.startswith("\\") and len(token) == 2 else token
        return fold(literal) == fold(value[v]) and match(t + 1, v + 1)

    return match(0, 0)


@given(patterns, text)
def test_path_patterns_are_case_sensitive_wildcards_over_the_whole_path(pattern, path):
    path = "/" + path
    expected = reference_match(pattern, path, ignore_case=False)
    assert r.PathPattern((pattern,)).matches(r.Request("GET", path, query="x=1")) == expected


@given(st.lists(st.tuples(text, st.sampled_from(["", "*", "?"])), min_size=1, max_size=4), st.data())
def test_a_path_built_from_a_pattern_always_matches_it(parts, data):
    pattern = "/" + "".join(literal + wildcard for literal, wildcard in parts)
    path = "/" + "".join(
        literal + {"": "", "*": data.draw(text), "?": data.draw(st.sampled_from(TEXT))}[wildcard]
        for literal, wildcard in parts
    )
    assert r.PathPattern((pattern,)).matches(r.Request("GET", path))


@given(patterns, text, st.sampled_from(["", ":8080"]))
def test_hosts_match_case_insensitively_without_the_port(pattern, host, port):
    assume(host)
    request = r.Request("GET", "/", headers=(("Host", host + port),))
    assert r.HostHeader((pattern,)).matches(request) == reference_match(pattern, host, ignore_case=True)


def test_a_subdomain_wildcard_needs_a_subdomain():
    condition = r.HostHeader(("*.example.com",))
    assert condition.matches(r.Request("GET", "/", headers=(("host", "API.Example.com"),)))
    assert not condition.matches(r.Request("GET", "/", headers=(("host", "example.com"),)))


@given(st.sampled_from(["X-Env", "x-env", "X-ENV"]), patterns, st.lists(text, max_size=3))
def test_header_conditions_match_any_sent_value_case_insensitively(name, pattern, sent):
    request = r.Request("GET", "/", headers=tuple(("x-Env", value) for value in sent))
    expected = any(reference_match(pattern, value, ignore_case=True) for value in sent)
    assert r.HttpHeader(name, (pattern,)).matches(request) == expected


@given(st.lists(st.sampled_from(["GET", "POST", "get", "PATCH", "CUSTOM-M"]), min_size=1, max_size=3))
def test_methods_match_exactly(values):
    for method in ("GET", "get", "POST", "Post", "CUSTOM-M"):
        assert r.RequestMethod(tuple(values)).matches(r.Request(method, "/")) == (method in values)


query_text = st.text(alphabet="abAB9-.%*?", max_size=6)


@given(
    st.lists(st.tuples(st.none() | query_text, st.text(alphabet="abAB9-.%*?\\", min_size=1, max_size=6)), min_size=1),
    st.lists(st.tuples(query_text, query_text), max_size=4),
)
def test_query_string_pairs_match_raw_case_insensitively_with_literal_escapes(pairs, sent):
    query = "&".join(f"{k}={v}" for k, v in sent)
    sent_pairs = list(sent)  # every "k=v" part is a pair, "=" included (an empty key and value)

    def pair_matches(key, value):
        return any(
            reference_match(value, sent_value, True, escapes=True)
            and (key is None or reference_match(key, sent_key, True, escapes=True))
            for sent_key, sent_value in sent_pairs
        )

    expected = any(pair_matches(key, value) for key, value in pairs)
    assert r.QueryString(tuple(pairs)).matches(r.Request("GET", "/", query=query)) == expected


@given(st.ip_addresses(v=4), st.integers(0, 32), st.ip_addresses(v=4))
def test_source_ip_is_the_peer_inside_the_block(network_address, prefix, peer):
    mask = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
    network = ipaddress.IPv4Address(int(network_address) & mask)
    expected = int(peer) & mask == int(network)
    assert r.SourceIp((f"{network}/{prefix}",)).matches(r.Request("GET", "/", source_ip=str(peer))) == expected


condition_strategy = st.one_of(
    st.builds(lambda p: r.PathPattern((p,)), patterns.map(lambda p: "/" + p)),
    st.builds(lambda m: r.RequestMethod((m,)), st.sampled_from(["GET", "POST"])),
    st.builds(lambda v: r.HttpHeader("x-env", (v,)), patterns),
)


@given(
    st.lists(
        st.tuples(st.integers(1, 50_000), st.lists(condition_strategy, min_size=1, max_size=3)),
        max_size=6,
        unique_by=lambda rule: rule[0],
    ),
    st.sampled_from(["GET", "POST"]),
    text,
    text,
)
def test_the_lowest_priority_whose_conditions_all_match_wins(specs, method, path, env):
    rules = tuple(r.Rule(priority, tuple(conditions), r.Forward()) for priority, conditions in specs)
    request = r.Request(method, "/" + path, headers=(("X-Env", env),))

    def holds(condition) -> bool:
        if isinstance(condition, r.PathPattern):
            return reference_match(condition.values[0], request.path, ignore_case=False)
        if isinstance(condition, r.RequestMethod):
            return condition.values[0] == method
        return reference_match(condition.values[0], env, ignore_case=True)

    matching = [rule.priority for rule in rules if all(holds(c) for c in rule.conditions)]
    chosen = r.first_match(rules, request)
    assert (chosen.priority if chosen else None) == (min(matching) if matching else None)


def test_the_properties_run_the_chosen_profile(pytestconfig):
    """tests/conftest.py loads the profile before these tests are defined: 60 examples, or
    3000 with --fuzz, and no deadline (examples that start processes are slow)."""
    assert DEFINED_WITH is not None
    assert DEFINED_WITH.max_examples == (3000 if pytestconfig.getoption("--fuzz") else 60)
    assert DEFINED_WITH.deadline is None
