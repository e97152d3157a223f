"""hive's comparison rules as the replay runner applies them (no node needed)."""

from __future__ import annotations

import json

import pytest

from hyperion.tools.rpccompat import (
    InvalidTestFile,
    _redact_error_messages,
    find_tests,
    json_difference,
    parse_test,
    schema_difference,
)


def test_key_order_is_free_arrays_are_ordered_numbers_compare_by_value():
    assert json_difference({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1.0}) is None
    assert json_difference([1, 2], [2, 1]) == "$[0]: got 1, want 2"
    assert json_difference({"a": "0x0A"}, {"a": "0x0a"}) is not None  # strings are byte-exact
    assert json_difference({"a": True}, {"a": 1}) is not None         # a boolean is not a number
    assert json_difference({"a": None}, {"a": 0}) is not None
    assert "missing ['b']" in json_difference({"a": 1}, {"a": 1, "b": 2})
    assert "unexpected ['c']" in json_difference({"a": 1, "c": 3}, {"a": 1})


def test_error_messages_are_not_compared_where_both_have_an_error():
    got = {"error": {"code": -32000, "message": "ours"}, "result": [{"error": {"code": 3, "message": "x"}}]}
    want = {"error": {"code": -32000, "message": "theirs"}, "result": [{"error": {"code": 3, "message": "y"}}]}
    _redact_error_messages(got, want)
    assert json_difference(got, want) is None
    got = {"error": {"code": -32601, "message": "a"}}
    want = {"error": {"code": -32602, "message": "b"}}
    _redact_error_messages(got, want)
    assert json_difference(got, want) == "$.error.code: got -32601, want -32602"


def test_parse_and_order(tmp_path):
    (tmp_path / "b_method").mkdir()
    (tmp_path / "a_method-x").mkdir()
    (tmp_path / "a_method").mkdir()
    for folder in ("b_method", "a_method-x", "a_method"):
        (tmp_path / folder / "t.io").write_text(
            '// a comment\n// speconly: schema only\n>> {"jsonrpc":"2.0","id":1,"method":"eth_chainId"}\n'
            '<< {"jsonrpc":"2.0","id":1,"result":"0x1"}\n')
    tests = find_tests(tmp_path)
    assert [t.name for t in tests] == ["a_method/t", "a_method-x/t", "b_method/t"]  # Go's filepath.Walk order
    assert tests[0].speconly and tests[0].comment.startswith("a comment")
    assert [t.name for t in find_tests(tmp_path, "^b_")] == ["b_method/t"]


@pytest.mark.parametrize("text", ["<< {}\n", ">> {\n", "junk\n", ""])
def test_malformed_test_files_are_refused(text):
    with pytest.raises(InvalidTestFile):
        parse_test("m/t", text)


def test_speconly_schemas():
    assert schema_difference("eth_estimateGas", "0x5208") is None
    assert schema_difference("eth_estimateGas", "0x05208") is not None  # no leading zeros in a quantity
    trace = {"gas": 1, "failed": False, "returnValue": "0x", "structLogs": [
        {"pc": 0, "op": "STOP", "gas": 1, "gasCost": 0, "depth": 1, "stack": ["0x0"]}]}
    assert schema_difference("debug_traceTransaction", trace) is None
    assert schema_difference("debug_traceTransaction", dict(trace, returnValue="")) is not None
    capabilities = json.loads('{"head":{"number":"0x1","hash":"0x' + "00" * 32 + '"}}')
    for part in ("state", "tx", "logs", "receipts", "blocks", "stateproofs"):
        capabilities[part] = {"disabled": False, "oldestBlock": "0x0"}
    assert schema_difference("eth_capabilities", capabilities) is None
    assert schema_difference("eth_capabilities", dict(capabilities, extra=1)) is not None
    assert schema_difference("eth_unknownMethod", 1).startswith("no result schema")


@pytest.mark.parametrize("args, message", [
    (["/nonexistent-suite"], "no rpc-compat suite at"),
    (["--filter", "("], "not a regular expression"),
    (["--timeout", "0"], "--timeout must be a positive number"),
])
def test_bad_command_lines_are_one_line_errors(args, message):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "hyperion", "rpccompat", *args], capture_output=True, text=True)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
