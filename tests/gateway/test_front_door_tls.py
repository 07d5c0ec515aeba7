"""TLS on the front door: the gateway entry and Nginx speak TLS with certificates from the estate
CA, keepalived probes the entry over https, and plain HTTP is a lab inventory's choice alone.

The loopback test runs the real vendored gateway with the certificate esdr issues: a client that
trusts the estate CA gets through, plain http does not.
"""

from __future__ import annotations

import os
import shutil
import ssl
import stat
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from esdr.checks.gateway import validate_tier
from esdr.gateway.lint import lint_text
from esdr.gateway.model import GATEWAY_TLS_NAME, entry_sans, front_door_sans
from esdr.gateway.render import (
    check_command,
    entry_tls_paths,
    gateway_yml,
    keepalived_conf,
    nginx_site,
    nginx_tls_paths,
)
from esdr.security import certs
from esdr.security.sans import sans_of
from tests.gateway.binary import Gateway, free_port, loopback
from tests.gateway.factory import KEEPALIVED, tier
from tests.unit.topo_factory import build, shape_a

NGINX = {"kind": "nginx", "listen_port": 9200}
LB = (("lb1", "10.0.0.21"),)


@pytest.fixture(autouse=True)
def _small_keys(monkeypatch):
    """RSA key generation dominates the certificate tests; the sizes are not what they check."""
    monkeypatch.setattr(certs, "CA_KEY_BITS", 2048)
    monkeypatch.setattr(certs, "NODE_KEY_BITS", 2048)  # Go's TLS refuses 1024-bit RSA keys


def _entry(model) -> dict:
    doc = yaml.safe_load(gateway_yml(model, model.gateways[0]))
    (entry,) = doc["entry"]
    return entry


def _rules(model) -> dict[str, str]:
    return {p.rule: p.severity for p in validate_tier(model)}


# --- rendering ---------------------------------------------------------------------------------


def test_the_entry_speaks_tls_by_default_with_esdr_s_files() -> None:
    model = tier()
    assert model.tls
    assert _entry(model)["tls"] == {
        "enabled": True,
        "cert_file": "/etc/infini-gateway/entry.crt",
        "key_file": "/etc/infini-gateway/entry.key",
    }
    paths = entry_tls_paths(model)
    assert (paths.cert, paths.key, paths.ca) == (
        "/etc/infini-gateway/entry.crt", "/etc/infini-gateway/entry.key",
        "/etc/infini-gateway/ca.crt")


def test_a_lab_that_allows_plain_http_keeps_the_entry_plain() -> None:
    model = tier(gateway_allow_plain_http=True, es_lab=True)
    assert not model.tls
    assert "tls" not in _entry(model)


def test_lint_refuses_an_entry_tls_without_its_files() -> None:
    """Without cert_file and key_file the gateway makes up a self-signed certificate."""
    doc = yaml.safe_load(gateway_yml(tier(), tier().gateways[0]))
    doc["entry"][0]["tls"] = {"enabled": True}
    rules = {p.rule for p in lint_text(yaml.safe_dump(doc), "gateway.yml", True)}
    assert "entry-tls-self-signed" in rules
    clean = {p.rule for p in lint_text(gateway_yml(tier(), tier().gateways[0]), "gw", True)}
    assert "entry-tls-self-signed" not in clean


def test_keepalived_probes_the_entry_over_https_with_the_estate_ca() -> None:
    model = tier()
    assert check_command(model) == [
        "/usr/bin/curl", "-fsS", "-m", "2", "--cacert", "/etc/infini-gateway/ca.crt",
        "-o", "/dev/null", "https://127.0.0.1:8000/_esdr/alive"]
    assert "https://127.0.0.1:8000/_esdr/alive" in keepalived_conf(model, model.host("gw1"))
    # the API stays plain on loopback; a plain lab probes plain http
    api = tier({**KEEPALIVED, "check": "api"})
    assert check_command(api)[-1] == "http://127.0.0.1:2900/_version"
    assert "--cacert" not in check_command(api)
    lab = tier(gateway_allow_plain_http=True, es_lab=True)
    assert check_command(lab) == ["/usr/bin/curl", "-fsS", "-m", "2", "-o", "/dev/null",
                                  "http://127.0.0.1:8000/_esdr/alive"]


def test_the_entry_certificate_names_every_address_it_is_reached_at() -> None:
    model = tier()
    sans = entry_sans(model, model.host("gw1"))
    # host name and address, the VIP, keepalived's loopback probe, Nginx's verified name
    for name in ("gw1", "10.0.0.11", "10.0.0.100", "127.0.0.1", "localhost", GATEWAY_TLS_NAME):
        assert name in sans
    assert "10.0.0.12" not in sans
    bound = tier(gateway_listen_address="10.0.0.11")
    assert "127.0.0.1" not in entry_sans(bound, bound.host("gw1"))
    nginx = tier(NGINX, balancers=LB)
    assert "10.0.0.100" not in entry_sans(nginx, nginx.host("gw1"))
    assert front_door_sans(nginx, nginx.host("lb1")) == ["lb1", "10.0.0.21"]


def test_nginx_listens_with_tls_and_verifies_the_entries() -> None:
    model = tier(NGINX, balancers=LB)
    site = nginx_site(model, model.host("lb1"))
    paths = nginx_tls_paths()
    for line in (
        "listen 9200 ssl;",
        f"ssl_certificate {paths.cert};",
        f"ssl_certificate_key {paths.key};",
        "ssl_protocols TLSv1.2 TLSv1.3;",
        "proxy_pass https://esdr_gateways;",
        "proxy_ssl_verify on;",
        f"proxy_ssl_trusted_certificate {paths.ca};",
        f"proxy_ssl_name {GATEWAY_TLS_NAME};",
        "proxy_ssl_protocols TLSv1.2 TLSv1.3;",
    ):
        assert line in site, line
    assert "proxy_pass http://" not in site
    plain = tier(NGINX, balancers=LB, gateway_allow_plain_http=True, es_lab=True)
    text = nginx_site(plain, plain.host("lb1"))
    assert "listen 9200;" in text and "proxy_pass http://esdr_gateways;" in text
    assert "ssl" not in text


def test_nginx_accepts_the_tls_site(tmp_path: Path) -> None:
    """``nginx -t`` on a temporary prefix, the certificate paths pointed at real files."""
    nginx = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")
    if nginx is None:
        pytest.skip("nginx is not installed here")
    model = tier(NGINX, balancers=LB)
    site = nginx_site(model, model.host("lb1"))
    ca_pem, ca_key = certs.create_ca("test CA", 30)
    ca = certs.load_ca(ca_pem, ca_key, "test")
    cert, key = certs.issue_node_cert(ca, "lb1", sans_of(["lb1", "127.0.0.1"]), 30)
    paths = nginx_tls_paths()
    for path, data in ((paths.cert, cert), (paths.key, key), (paths.ca, ca_pem)):
        local = tmp_path / Path(path).name
        local.write_bytes(data)
        site = site.replace(path, str(local))
    site = site.replace("listen 9200 ssl;", f"listen 127.0.0.1:{free_port()} ssl;")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "logs").mkdir()
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\n"
        "events {}\n"
        f"http {{\n  access_log off;\n  include {tmp_path}/site.conf;\n}}\n")
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


# --- refusals ----------------------------------------------------------------------------------


def test_plain_http_is_refused_outside_a_lab_inventory() -> None:
    model = tier(gateway_allow_plain_http=True)
    problems = [p for p in validate_tier(model) if p.rule == "gateway-plain-http-outside-lab"]
    (problem,) = problems
    assert problem.severity == "error"
    assert "gateway_allow_plain_http = True is allowed only in a lab inventory" in problem.message
    assert "es_lab = True" in problem.message and "gw1, gw2" in problem.message
    assert "test.py" in problem.where


def test_plain_http_in_a_lab_is_a_warning() -> None:
    rules = _rules(tier(gateway_allow_plain_http=True, es_lab=True))
    assert rules.get("gateway-plain-http") == "warning"
    assert "gateway-plain-http-outside-lab" not in rules
    # a lab needs every host of the tier to say so
    partly = tier(NGINX, balancers=LB, gateway_allow_plain_http=True)
    assert _rules(partly).get("gateway-plain-http-outside-lab") == "error"


def test_plain_http_must_be_a_boolean() -> None:
    assert _rules(tier(gateway_allow_plain_http="yes")).get("gateway-setting-invalid") == "error"


def test_tls_by_default_raises_no_plain_http_problem() -> None:
    rules = _rules(tier())
    assert "gateway-plain-http" not in rules and "gateway-plain-http-outside-lab" not in rules


def test_the_checked_in_production_inventory_renders_tls() -> None:
    from esdr.project import load_project
    from tests.integration.deploy_runner import REPO

    model = load_project(REPO / "inventories" / "prod.py").tier
    assert model.tls and not model.lab
    assert _entry(model)["tls"]["enabled"] is True
    assert "https://" in check_command(model)[-1]


# --- the certificate from the estate CA --------------------------------------------------------


def _topology(tmp_path: Path):
    hosts, base = shape_a()
    return build(hosts, {**base, "es_secrets_dir": str(tmp_path / "secrets")})


def test_the_gateway_certificate_comes_from_the_estate_ca_and_is_reused(tmp_path) -> None:
    topology = _topology(tmp_path)
    model = tier()
    names = entry_sans(model, model.host("gw1"))
    cert, key, ca_pem, issued = certs.ensure_gateway_certificate(topology, "gw1", names)
    assert issued
    info = certs.cert_info(cert)
    assert info.sans == sans_of(names)
    ca = certs.load_estate_ca(topology, create=False)
    assert ca is not None and info.issuer_key_id == ca.key_id and ca_pem == ca.pem
    stored = tmp_path / "secrets" / "gateways" / "gw1.key"
    assert stored.read_bytes() == key and stat.S_IMODE(os.stat(stored).st_mode) == 0o600
    again = certs.ensure_gateway_certificate(topology, "gw1", names)
    assert again[:3] == (cert, key, ca_pem) and again[3] is None
    # another address reissues; the Nginx role of the same host is a certificate of its own
    moved = certs.ensure_gateway_certificate(topology, "gw1", [*names, "10.0.0.99"])
    assert moved[3] and moved[0] != cert
    nginx = certs.ensure_gateway_certificate(topology, "gw1", ["gw1"], role="nginx")
    assert (tmp_path / "secrets" / "gateways" / "gw1-nginx.crt").read_bytes() == nginx[0]
    assert certs.ensure_gateway_certificate(topology, "gw1", [*names, "10.0.0.99"])[3] is None


# --- the real gateway binary -------------------------------------------------------------------


def _get(url: str, context: ssl.SSLContext | None = None) -> tuple[int | None, str]:
    try:
        with urllib.request.urlopen(url, timeout=3.0, context=context) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""
    except (urllib.error.URLError, OSError) as error:
        return None, str(error)


def test_the_real_gateway_serves_its_entry_over_tls_verified_by_the_estate_ca(
        gateway_binary, tmp_path) -> None:
    topology = _topology(tmp_path)
    model = tier()
    gw1 = model.host("gw1")
    cert, key, ca_pem, _ = certs.ensure_gateway_certificate(topology, "gw1",
                                                            entry_sans(model, gw1))
    files = tmp_path / "tls"
    files.mkdir()
    for name, data in (("entry.crt", cert), ("entry.key", key), ("ca.crt", ca_pem)):
        (files / name).write_bytes(data)
    (files / "entry.key").chmod(0o600)
    rendered = yaml.safe_load(gateway_yml(model, gw1))
    assert rendered["entry"][0]["tls"]["enabled"] is True
    doc, entry_port, api_port = loopback(rendered, tmp_path / "gw", "http://127.0.0.1:9",
                                         tls=(files / "entry.crt", files / "entry.key"))
    gateway = Gateway(gateway_binary, tmp_path / "gw", doc, api_port, entry_port).start()
    try:
        assert gateway.came_up(), gateway.output()
        alive = f"https://127.0.0.1:{entry_port}/_esdr/alive"
        trusted = ssl.create_default_context(cafile=str(files / "ca.crt"))
        status, body = None, ""
        for _ in range(60):  # the entry listens a moment after the API
            status, body = _get(alive, trusted)
            if status is not None:
                break
            time.sleep(0.5)
        assert (status, body) == (200, "alive"), gateway.output()
        # a client without the estate CA refuses the certificate; plain http gets no answer
        assert _get(alive, ssl.create_default_context())[0] is None
        assert _get(f"http://127.0.0.1:{entry_port}/_esdr/alive")[0] != 200
        curl = shutil.which("curl")
        if curl:  # keepalived's probe, as rendered, with the CA at its test path
            words = check_command(model)
            words[words.index("--cacert") + 1] = str(files / "ca.crt")
            words[-1] = alive
            probe = subprocess.run(words[1:], executable=curl, capture_output=True, text=True,
                                   timeout=10)
            assert probe.returncode == 0, probe.stderr
    finally:
        gateway.stop()
