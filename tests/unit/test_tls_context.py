"""Every node of every client in one process shares one TLS context per CA file (building one
per node re-read the system's CA store each time); verification stays the stock node's."""

from __future__ import annotations

import os
import ssl

from esdr.es import connect
from esdr.es.connect import client_for
from tests.unit.test_transport import PASSWORD, _topology, estate  # noqa: F401 - the fixture


def test_clients_share_one_context_per_ca_file(monkeypatch, estate):  # noqa: F811
    monkeypatch.setenv("ESDR_T_TR_PW", PASSWORD)
    first = client_for(_topology(estate), connect_timeout=2)
    second = client_for(_topology(estate), connect_timeout=2)
    contexts = {id(node.pool.conn_kw["ssl_context"])
                for es in (first, second) for node in es.transport.node_pool.all()}
    assert len(contexts) == 1
    node = first.transport.node_pool.all()[0]
    context = node.pool.conn_kw["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert node.pool.cert_reqs == "CERT_REQUIRED" and node.pool.assert_hostname is None
    # the estate CA only: no pool names public roots to load into it on every connection
    assert len(context.get_ca_certs()) == 1 and node.pool.ca_certs is None


def test_a_rewritten_ca_file_gets_a_new_context(tmp_path, estate):  # noqa: F811
    ca = next(estate.rglob("ca.crt"), None) or next(estate.rglob("*.pem"))
    copy = tmp_path / "ca.crt"
    copy.write_bytes(ca.read_bytes())
    before = connect._tls_context(str(copy))
    assert connect._tls_context(str(copy)) is before
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert connect._tls_context(str(copy)) is not before
