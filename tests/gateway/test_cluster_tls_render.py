"""What esdr renders so that the gateway verifies its clusters' certificates, and the patch that
makes the gateway do it (docs/gateway-cluster-tls.md). Fast: no binary is run (that is
tests/gateway/test_binary_cluster_tls.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from esdr.gateway.render import cluster_ca_path, entry_tls_paths, gateway_unit, gateway_yml
from esdr_lab.artifacts import vendor_dir
from esdr_lab.constants import GATEWAY_SOURCE
from tests.gateway.factory import CLUSTERS, tier

ROOT = Path(__file__).resolve().parents[2]
PATCHES = sorted((ROOT / "patches" / "infini-gateway").glob("*.patch"))
# every file of the source bundle where upstream skips the verification of a cluster's
# certificate: the framework's clients (health, metadata, the probe; bulk; replay), the queue
# consumer, and the `elasticsearch` filter (its default, and its clients)
CLUSTER_CLIENTS = (
    "framework/core/util/webhunter.go",
    "framework/core/elastic/domain_actions.go",
    "framework/plugins/replay/replay.go",
    "gateway/pipeline/queue_consumer/diskqueue_consumer.go",
    "gateway/proxy/output/elastic/elasticsearch.go",
    "gateway/proxy/output/elastic/reverseproxy.go",
)


def _filters(doc: dict) -> list[dict]:
    found: list[dict] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("elasticsearch"), dict):
                found.append(value["elasticsearch"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(doc.get("flow"))
    return found


def _plain_tier():
    clusters = {role: {**c, "endpoints": [e.replace("https://", "http://")
                                          for e in c["endpoints"]]}
                for role, c in CLUSTERS.items()}
    return tier(gateway_clusters=clusters, gateway_allow_plain_http=True, es_lab=True)


def test_every_elasticsearch_filter_verifies_the_clusters_certificate() -> None:
    model = tier()
    filters = _filters(yaml.safe_load(gateway_yml(model, model.host("gw1"))))
    assert len(filters) == 8  # writes and reads 3 each, replays 2
    assert all(f["tls_insecure_skip_verify"] is False for f in filters), filters


def test_the_unit_trusts_the_estate_ca_for_https_clusters() -> None:
    model = tier()
    unit = gateway_unit(model, model.host("gw1"))
    ca = entry_tls_paths(model).ca
    assert cluster_ca_path(model) == ca == "/etc/infini-gateway/ca.crt"
    assert f"Environment=SSL_CERT_FILE={ca}" in unit.splitlines()


def test_plain_http_clusters_need_no_trust() -> None:
    model = _plain_tier()
    assert cluster_ca_path(model) is None
    assert "SSL_CERT_FILE" not in gateway_unit(model, model.host("gw1"))
    # the filter still says it: harmless over http://, and right should an endpoint turn https
    filters = _filters(yaml.safe_load(gateway_yml(model, model.host("gw1"))))
    assert all(f["tls_insecure_skip_verify"] is False for f in filters)


def test_one_https_endpoint_is_enough_to_need_the_estate_ca() -> None:
    clusters = {role: dict(c) for role, c in CLUSTERS.items()}
    clusters["primary"]["endpoints"] = ["http://10.0.1.10:9200"]
    model = tier(gateway_clusters=clusters, gateway_allow_plain_http=True, es_lab=True)
    assert cluster_ca_path(model) == entry_tls_paths(model).ca


@pytest.fixture(scope="module")
def patched_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = vendor_dir() / GATEWAY_SOURCE
    if not source.is_file():
        pytest.skip(f"no INFINI Gateway source bundle at {source}")
    if shutil.which("patch") is None:
        pytest.skip("no `patch` command")
    tree = tmp_path_factory.mktemp("gateway-src")
    with tarfile.open(source) as tar:  # the few files checked, read by hand (no tar filters)
        for name in CLUSTER_CLIENTS + ("framework/core/util/tls_bypass.go",):
            member = tar.extractfile(f"./{name}")
            assert member is not None, name
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            (tree / name).write_bytes(member.read())
    assert PATCHES, "patches/infini-gateway/ holds no patch"
    for patch in PATCHES:
        with open(patch, "rb") as stdin:
            done = subprocess.run(["patch", "-p1", "--forward", "--batch", "-d", str(tree)],
                                  stdin=stdin, capture_output=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    return tree


@pytest.mark.parametrize("name", CLUSTER_CLIENTS)
def test_the_patch_leaves_no_unverified_cluster_client(patched_tree: Path, name: str) -> None:
    text = (patched_tree / name).read_text()
    assert not re.search(r"InsecureSkipVerify:\s*true", text), name
    assert not re.search(r"TLSInsecureSkipVerify:\s*true", text), name
    assert "ClusterTLSConfig()" in text or "TLSInsecureSkipVerify:              false" in text


def test_the_patch_trusts_ssl_cert_file_alone(patched_tree: Path) -> None:
    text = (patched_tree / "framework/core/util/cluster_tls.go").read_text()
    assert 'os.Getenv(clusterCertFileEnv)' in text and '"SSL_CERT_FILE"' in text
    assert "InsecureSkipVerify:" not in text and "InsecureSkipVerify =" not in text


def test_lint_refuses_a_filter_that_skips_the_clusters_certificate() -> None:
    """A hand-edited gateway.yml (or a seed's) that turns verification back off."""
    import yaml

    from esdr.gateway.lint import lint_text
    from esdr.gateway.render import gateway_yml
    from tests.gateway.factory import tier

    model = tier()
    text = gateway_yml(model, model.gateways[0])
    assert "tls-verify-off" not in {p.rule for p in lint_text(text, "gw", True)}
    turned_off = text.replace("tls_insecure_skip_verify: false", "tls_insecure_skip_verify: true")
    assert turned_off != text
    found = [p for p in lint_text(turned_off, "gw", True) if p.rule == "tls-verify-off"]
    assert found and all(p.severity == "error" for p in found)
    assert "flow " in found[0].where
    yaml.safe_load(turned_off)
