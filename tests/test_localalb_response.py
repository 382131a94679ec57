"""ALB's checks on a function's result (localalb/response.py): a worker passes the object it just
encoded, which spares decoding the JSON again only where decoding could change nothing the checks
read. Whatever the function returns, the outcome is the one its JSON alone gives."""

from __future__ import annotations

import enum
import json
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localalb.response import AlbError, check_lambda_response, head_lines

ENCODE = json.JSONEncoder(separators=(",", ":")).encode  # as the worker encodes a result


class Status(enum.IntEnum):
    OK = 200


class Name(str):
    """A str subclass: JSON writes it as a plain string."""


def outcome(payload: bytes, multi_value: bool, result: Any = None) -> object:
    try:
        return check_lambda_response(payload, multi_value, result)
    except AlbError as exc:
        return (exc.status, exc.reason, exc.detail)


def same_as_its_json(result: Any, multi_value: bool) -> None:
    payload = ENCODE(result).encode()
    assert repr(outcome(payload, multi_value, result)) == repr(outcome(payload, multi_value))  # types too


@pytest.mark.parametrize("multi_value", [False, True])
@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": 200, "body": "ok", "headers": {"A": "1"}, "multiValueHeaders": {"A": ["1", "2"]}},
        {"statusCode": Status.OK, "body": "ok"},  # an IntEnum: JSON writes 200
        {"statusCode": 200.0, "body": "ok"},  # a float: refused either way
        {"statusCode": True, "body": "ok"},
        {"statusCode": 200, "body": Name("ok"), "headers": {Name("A"): Name("1")}},
        {"statusCode": 200, "body": "ok", "multiValueHeaders": {"A": ("1", "2")}},  # a tuple: a list in JSON
        {"statusCode": 200, "body": "ok", "headers": {1: "one"}},  # a key JSON turns into "1"
        {"statusCode": 200, "body": "ok", 7: "x"},
        OrderedDict(statusCode=200, body="ok", headers=OrderedDict(A="1")),
        {"statusCode": 200, "body": "ok", "isBase64Encoded": 0},
        {"statusCode": 200, "body": "aGk=", "isBase64Encoded": True},
        {"statusCode": 200, "body": None},
        {"statusCode": 200, "headers": {"A": None}},
        {"statusCode": 200, "headers": {"bad name": "x"}},
        {"statusCode": 200, "headers": {"A": "x\ny"}},
        {"statusCode": 200, "body": "x" * (1024 * 1024)},  # over 1 MB as JSON
        [200, "ok"],
        "ok",
    ],
)
def test_the_object_and_its_json_give_the_same_outcome(result, multi_value):
    same_as_its_json(result, multi_value)


leaves = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=8)
values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=3)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=6) | st.integers(0, 3), children, max_size=3)
    ),
    max_leaves=8,
)
results = st.fixed_dictionaries(
    {"statusCode": st.integers(100, 700) | st.sampled_from([Status.OK]) | values},
    optional={
        "body": st.text(max_size=20) | st.text(max_size=5).map(Name) | values,
        "headers": st.dictionaries(st.text(max_size=6) | st.integers(0, 3), st.text(max_size=6) | values, max_size=3),
        "multiValueHeaders": st.dictionaries(
            st.text(max_size=6), st.lists(st.text(max_size=6)) | st.lists(st.text(max_size=6)).map(tuple) | values
        ),
        "isBase64Encoded": st.booleans() | values,
        "statusDescription": st.text(max_size=6) | st.none(),
    },
)


@given(result=results, multi_value=st.booleans())
def test_any_result_gives_the_outcome_its_json_gives(result, multi_value):
    same_as_its_json(result, multi_value)


def test_the_header_lines_a_worker_writes_are_the_ones_the_listener_sends():
    """Names lower-cased in the function's order, a repeated header kept, the length last; a 204
    or 304 has no length (the listener drops its body)."""
    headers = (("Content-Type", "text/html"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"))
    assert head_lines(200, headers, b"hello") == (
        b"content-type: text/html\r\nset-cookie: a=1\r\nset-cookie: b=2\r\ncontent-length: 5\r\n"
    )
    assert head_lines(204, headers[:1], b"ignored") == b"content-type: text/html\r\n"
    assert head_lines(200, (("X-Name", "caf\u00e9"),), b"") == "x-name: caf\u00e9\r\ncontent-length: 0\r\n".encode()
