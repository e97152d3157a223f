"""hyperion.web3tx.rpc.call against a real HTTP server that answers badly: one typed error, never a crash."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hyperion.web3tx.rpc import RpcError, Unavailable, call

ANSWERS = {
    "/503": (503, b"busy"),
    "/html": (200, b"<html>not json</html>"),
    "/no-result": (200, b'{"jsonrpc": "2.0", "id": 0}'),
    "/error": (200, b'{"jsonrpc": "2.0", "id": 0, "error": {"code": -32000, "message": "nonce too low", "data": "0x"}}'),
    "/ok": (200, b'{"jsonrpc": "2.0", "id": 0, "result": "0x7a69"}'),
}


@pytest.fixture(scope="module")
def server():
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            status, body = ANSWERS[self.path]
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_answers_and_errors_are_typed(server):
    assert call(server + "/ok", "eth_chainId") == "0x7a69"
    with pytest.raises(RpcError) as error:
        call(server + "/error", "eth_sendRawTransaction", "0x00")
    assert (error.value.method, error.value.code, error.value.message) == ("eth_sendRawTransaction", -32000,
                                                                           "nonce too low")


@pytest.mark.parametrize("path, expected", [("/503", "HTTP 503"), ("/html", "non-JSON"),
                                            ("/no-result", "malformed")])
def test_a_broken_endpoint_is_unavailable(server, path, expected):
    with pytest.raises(Unavailable, match=expected):
        call(server + path, "eth_chainId", timeout=5)
