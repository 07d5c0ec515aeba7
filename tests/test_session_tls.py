"""The test session's TLS clients survive pyinfra-testing's gevent patch (tests/conftest.py):
an https opensearch-py client against a loopback listener must fail to connect, not recurse in
SSLContext (https://github.com/gevent/gevent/issues/1016)."""

from __future__ import annotations

import socket
import threading

import opensearchpy
import pyinfra_testing.operations  # noqa: F401  (imports pyinfra_cli, which patches)
from opensearchpy import OpenSearch


def test_an_https_client_reaches_the_tls_handshake_without_recursing():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def close_the_first_connection():
        conn, _ = listener.accept()
        conn.close()

    threading.Thread(target=close_the_first_connection, daemon=True).start()
    client = OpenSearch([f"https://127.0.0.1:{port}"], use_ssl=True, verify_certs=False,
                        ssl_show_warn=False, max_retries=0, timeout=2)
    try:
        client.info()
    except (opensearchpy.ConnectionError, opensearchpy.TransportError):
        pass  # the listener hangs up during the handshake: the expected end
    finally:
        listener.close()
