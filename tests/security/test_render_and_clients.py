"""Rendering with security on/off, the curl config, clients that carry the CA and credentials."""

from __future__ import annotations

import yaml

from esdr.node_api import NodeApi
from esdr.render import elasticsearch_yml
from esdr.security import certs, config
from esdr.security.refs import Secret, parse_ref, resolve
from tests.unit.topo_factory import topology


def _yml(t) -> dict:
    return yaml.safe_load(elasticsearch_yml(t, t.cluster.nodes[0], bootstrap=False))


def test_security_on_renders_tls_on_both_layers_with_full_verification() -> None:
    y = _yml(topology())
    assert y["xpack.security.enabled"] is True
    assert y["xpack.security.transport.ssl.enabled"] is True
    assert y["xpack.security.transport.ssl.verification_mode"] == "full"
    assert y["xpack.security.transport.ssl.client_authentication"] == "required"
    assert y["xpack.security.http.ssl.enabled"] is True
    for layer in ("transport", "http"):
        assert y[f"xpack.security.{layer}.ssl.key"] == "certs/node.key"
        assert y[f"xpack.security.{layer}.ssl.certificate_authorities"] == ["certs/ca.crt"]


def test_lab_opt_out_renders_security_false_under_a_loud_title() -> None:
    text = elasticsearch_yml(
        t := topology(es_security=False, es_lab=True), t.cluster.nodes[0], bootstrap=False
    )
    assert "# --- security OFF (lab only: es_security)" in text
    assert yaml.safe_load(text)["xpack.security.enabled"] is False


def test_secret_never_prints() -> None:
    secret = Secret("pa55word")
    assert "pa55word" not in repr(secret) and "pa55word" not in str(secret)
    assert "pa55word" not in f"{[secret]}"


def test_resolve_from_env_and_file(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ESDR_T_PW", "from-env")
    assert resolve(parse_ref({"env": "ESDR_T_PW"}), "x").reveal() == "from-env"
    (tmp_path / "pw").write_text("from-file\n")
    assert resolve(parse_ref({"file": str(tmp_path / "pw")}), "x").reveal() == "from-file"
    monkeypatch.delenv("ESDR_T_PW")
    import pytest

    with pytest.raises(Exception, match="ESDR_T_PW is not set"):
        resolve(parse_ref({"env": "ESDR_T_PW"}), "x")


def test_curl_config_quotes_and_salts() -> None:
    text = config.curl_config('a"b\\c', "/etc/elasticsearch/certs/ca.crt", salt="s1")
    assert 'user = "elastic:a\\"b\\\\c"' in text
    assert 'cacert = "/etc/elasticsearch/certs/ca.crt"' in text
    assert text != config.curl_config('a"b\\c', "/etc/elasticsearch/certs/ca.crt", salt="s2")


class _Host:
    def __init__(self):
        self.commands: list[str] = []

    def run_shell_command(self, command, _timeout=None):
        self.commands.append(str(command.get_raw_value()))

        class Out:
            stdout = '{"status": "green"}\n200'

        return True, Out()


def test_node_api_uses_https_and_a_curl_config_never_a_password() -> None:
    t = topology()
    host = _Host()
    api = NodeApi.for_node(t, t.cluster.nodes[0], host=host)
    assert api.health() == {"status": "green"}
    (command,) = host.commands
    assert command.startswith(f"curl -K {config.CURL_CONFIG} -s ")
    assert "https://10.0.0.1:9200/_cluster/health" in command
    assert "-u" not in command.split() and "elastic" not in command


def test_node_api_plain_http_when_a_lab_opts_out() -> None:
    t = topology(es_security=False, es_lab=True)
    host = _Host()
    NodeApi.for_node(t, t.cluster.nodes[0], host=host).health()
    assert host.commands[0].startswith("curl -s ") and "http://10.0.0.1:9200" in host.commands[0]


def test_client_for_carries_the_ca_and_credentials(monkeypatch, tmp_path) -> None:
    from esdr.es import connect
    from esdr.es.connect import client_for, node_urls

    monkeypatch.setenv("ESDR_T1_ELASTIC_PASSWORD", "client-pw")
    t = topology(es_secrets_dir=str(tmp_path))
    certs.ensure_certificates(t)
    client = client_for(t)
    assert node_urls(t)[0] == "https://10.0.0.1:9200"
    node = client.transport.node_pool.all()[0]
    assert node.config.scheme == "https"
    # the estate CA, in the one TLS context every node of the process shares
    assert node.config.ssl_context is connect._tls_context(str(tmp_path / "ca.crt"))
    assert len(node.config.ssl_context.get_ca_certs()) == 1
    assert client._headers["authorization"].startswith("Basic ")


def test_client_for_without_a_ca_says_how_to_fix(monkeypatch, tmp_path) -> None:
    import pytest

    from esdr.errors import EsdrError
    from esdr.es.connect import client_for

    monkeypatch.setenv("ESDR_T1_ELASTIC_PASSWORD", "client-pw")
    with pytest.raises(EsdrError, match="no CA certificate"):
        client_for(topology(es_secrets_dir=str(tmp_path / "none")))
