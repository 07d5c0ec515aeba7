"""gateway.yml, keepalived.conf, the Nginx site and the unit, from the tier model."""

from __future__ import annotations

import pytest
import yaml

from esdr.gateway.render import (
    DEFAULT_READ_RULES,
    gateway_unit,
    gateway_yml,
    host_files,
    keepalived_conf,
    nginx_site,
    secrets_file,
)
from tests.gateway.factory import KEEPALIVED, tier


def _doc(model, name="gw1"):
    return yaml.safe_load(gateway_yml(model, model.host(name)))


def _flow(doc, name):
    return next(f for f in doc["flow"] if f["name"] == name)["filter"]


WAITS = {"dial_timeout": "1s", "timeout": "10s"}  # the defaults (docs/gateway-failover.md)
SUCCESS = {"in": {"_ctx.response.status": [200, 201]}}
NEVER_CONNECTED = {"and": [
    {"equals": {"_ctx.response.status": 500}},
    {"or": [
        {"prefix": {"_ctx.response.body":
                    '{"error":true,"message":"dialing to the given TCP address timed out"'}},
        {"prefix": {"_ctx.response.body": '{"error":true,"message":"dial tcp'}},
    ]},
]}


VERIFY = {"tls_insecure_skip_verify": False}  # docs/gateway-cluster-tls.md


def _to(cluster: str, **waits) -> dict:
    return {"elasticsearch": {"elasticsearch": cluster, **VERIFY, **(waits or WAITS)}}


def test_write_flow_primary_then_queue_for_backup_only_on_success_else_reverse() -> None:
    doc = _doc(tier())
    ids, write = _flow(doc, "write-flow")
    # bulk items get their id before either cluster sees the request
    assert ids == {"bulk_request_mutate": {"fix_null_id": True}}
    assert write["if"] == {"cluster_available": ["dc1"]}
    primary, fall_back = write["then"]
    assert primary == _to("dc1")
    # the primary not taking the connection: the request never reached it, so the backup
    # takes it, queued for the primary; else (it answered) queued for the backup on success
    assert fall_back == {"if": NEVER_CONNECTED, "then": [
        _to("dc2"), {"queue": {"queue_name": "dc1-queue", "when": SUCCESS}},
    ], "else": [
        {"queue": {"queue_name": "dc2-queue", "when": SUCCESS}},
    ]}
    assert write["else"] == [
        _to("dc2"),
        {"queue": {"queue_name": "dc1-queue", "when": SUCCESS}},
    ]


def test_without_the_connect_fall_back_the_write_flow_is_the_plain_primary_backup_one() -> None:
    doc = _doc(tier(gateway_connect_failover=False))
    write = _flow(doc, "write-flow")[1]
    assert write["then"] == [
        _to("dc1"), {"queue": {"queue_name": "dc2-queue", "when": SUCCESS}},
    ]
    read = _flow(doc, "read-flow")[0]
    assert read["then"] == [_to("dc1")] and read["else"] == [_to("dc2")]


def test_reads_fall_back_to_the_backup_when_the_primary_takes_no_connection() -> None:
    read = _flow(_doc(tier()), "read-flow")[0]
    assert read["if"] == {"cluster_available": ["dc1"]}
    assert read["then"] == [_to("dc1"), {"if": NEVER_CONNECTED, "then": [_to("dc2")]}]
    assert read["else"] == [_to("dc2")]


def test_every_elasticsearch_filter_waits_the_tier_timeouts() -> None:
    doc = _doc(tier(gateway_connect_timeout="500ms", gateway_request_timeout="20s"))
    filters = []

    def walk(items):
        for item in items:
            for name, conf in item.items():
                if name == "elasticsearch":
                    filters.append(conf)
                if name == "if":
                    walk(item.get("then") or [])
                    walk(item.get("else") or [])

    for flow in doc["flow"]:
        walk(flow["filter"])
    assert len(filters) == 8  # writes and reads 3 each (primary, fall-back, else), replays 2
    assert all((f["dial_timeout"], f["timeout"]) == ("500ms", "20s") for f in filters)


def test_unset_timeouts_leave_the_frameworks_own() -> None:
    doc = _doc(tier(gateway_connect_timeout=None, gateway_request_timeout=None))
    target = _flow(doc, "replay-to-dc1")[0]
    assert target == {"elasticsearch": {"elasticsearch": "dc1", **VERIFY}}


def test_an_id_less_document_is_named_by_the_gateway_before_the_write_flow() -> None:
    doc = _doc(tier())
    assert _flow(doc, "new-doc-flow") == [
        {"auto_generate_doc_id": {}},
        {"flow": {"flows": ["write-flow"]}},
    ]
    last = doc["router"][0]["rules"][-1]
    assert last == {"method": ["POST"], "pattern": ["/{index}/_doc"], "flow": ["new-doc-flow"]}


def test_router_default_is_writes_and_the_seeds_read_rules() -> None:
    router = _doc(tier())["router"][0]
    assert router["default_flow"] == "write-flow"
    reads = router["rules"][1:-1]  # after keepalived's probe, before id-less writes
    assert [r["method"] for r in reads] == [r["method"] for r in DEFAULT_READ_RULES]
    assert all(r["flow"] == ["read-flow"] for r in reads)


def test_replay_pipelines_are_gated_on_their_target_and_commit_on_success() -> None:
    doc = _doc(tier())
    pipelines = {p["name"]: p for p in doc["pipeline"]}
    for cluster in ("dc1", "dc2"):
        consumer = pipelines[f"replay-{cluster}"]["processor"][0]["consumer"]
        assert consumer["queue_selector"]["keys"] == [f"{cluster}-queue"]
        assert consumer["when"] == {"cluster_available": [cluster]}
        replay = consumer["processor"][0]["flow_replay"]
        assert replay == {"flow": f"replay-to-{cluster}", "commit_on_tag": "esdr_replayed"}
        target, tag = _flow(doc, f"replay-to-{cluster}")
        assert target == _to(cluster)
        assert tag["tag"]["add"] == ["esdr_replayed"]
        assert tag["tag"]["when"] == {"in": {"_ctx.response.status": [200, 201, 404, 409]}}


def test_pinned_cluster_versions_are_rendered_so_the_gateway_skips_its_probe() -> None:
    def with_version(version, distribution):
        return {role: {**c, "version": version, "distribution": distribution}
                for role, c in tier().settings["gateway_clusters"].items()}

    doc = _doc(tier(gateway_clusters=with_version("2.19.4", "opensearch")))
    assert [(c["version"], c["distribution"]) for c in doc["elasticsearch"]] == [
        ("2.19.4", "opensearch"), ("2.19.4", "opensearch")]
    assert all(c["discovery"] == {"enabled": False} for c in doc["elasticsearch"])
    unpinned = _doc(tier(gateway_clusters=with_version(None, None)))["elasticsearch"]
    assert all("version" not in c for c in unpinned)


def test_listen_addresses_are_the_tier_settings() -> None:
    doc = _doc(tier(gateway_listen_address="127.0.0.1", gateway_api_listen_address="10.0.0.11"))
    assert doc["entry"][0]["network"]["binding"] == "127.0.0.1:8000"
    assert doc["api"]["network"]["binding"] == "10.0.0.11:2900"


def test_passwords_are_env_references_never_the_secret(monkeypatch) -> None:
    monkeypatch.setenv("DC1_PW", "s3cret-one")
    model = tier()
    text = gateway_yml(model, model.host("gw1"))
    assert "s3cret" not in text
    auth = {c["name"]: c["basic_auth"]["password"] for c in yaml.safe_load(text)["elasticsearch"]}
    assert auth == {
        "dc1": "$[[env.ESDR_GW_DC1_PASSWORD]]",
        "dc2": "$[[env.ESDR_GW_DC2_PASSWORD]]",
    }


def test_secrets_file_is_0600_for_the_gateway_user(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DC1_PW", "one")
    pw = tmp_path / "dc2.pw"
    pw.write_text("two\n")
    model = tier()
    clusters = dict(model.settings["gateway_clusters"])
    clusters["backup"] = {**clusters["backup"], "password": {"file": str(pw)}}
    model = tier(gateway_clusters=clusters)
    secrets = secrets_file(model)
    assert (secrets.mode, secrets.user, secrets.group) == (
        "600",
        "infini-gateway",
        "infini-gateway",
    )
    assert "ESDR_GW_DC1_PASSWORD='one'" in secrets.content
    assert "ESDR_GW_DC2_PASSWORD='two'" in secrets.content


def test_secrets_file_refuses_a_missing_variable(monkeypatch) -> None:
    import pytest

    from esdr.errors import EsdrError

    monkeypatch.delenv("DC1_PW", raising=False)
    with pytest.raises(EsdrError, match="DC1_PW is not set"):
        secrets_file(tier())


def test_keepalived_preempt_master_and_unicast_peers() -> None:
    model = tier()
    gw1 = keepalived_conf(model, model.host("gw1"))
    gw2 = keepalived_conf(model, model.host("gw2"))
    assert "state MASTER" in gw1 and "priority 150" in gw1
    assert "state BACKUP" in gw2 and "priority 100" in gw2
    assert "unicast_src_ip 10.0.0.11" in gw1 and "        10.0.0.12\n" in gw1
    assert "nopreempt" not in gw1
    assert "track_script" in gw1 and "https://127.0.0.1:8000/_esdr/alive" in gw1
    assert "10.0.0.100/24 dev eth0" in gw1


def test_keepalived_checks_the_entry_by_default_and_the_api_on_request() -> None:
    """The entry listens later than the API when a cluster is down at start: checking the API
    handed the VIP back to a gateway that could not take a write yet."""
    model = tier()
    entry = keepalived_conf(model, model.host("gw1"))
    assert ('"/usr/bin/curl -fsS -m 2 --cacert /etc/infini-gateway/ca.crt -o /dev/null '
            'https://127.0.0.1:8000/_esdr/alive"') in entry
    doc = _doc(model)
    (rule, *_) = doc["router"][0]["rules"]
    assert rule == {"method": ["GET"], "pattern": ["/_esdr/alive"], "flow": ["alive-flow"]}
    (alive,) = [f for f in doc["flow"] if f["name"] == "alive-flow"]
    assert alive["filter"] == [{"set_response": {
        "status": 200, "content_type": "text/plain", "body": "alive"}}]
    api = tier({**model.settings["gateway_front_door"], "check": "api"})
    assert "http://127.0.0.1:2900/_version" in keepalived_conf(api, api.host("gw1"))


@pytest.mark.parametrize(("listen", "url"), [
    ("10.0.0.11", "https://10.0.0.11:8000/_esdr/alive"),
    ("::", "https://127.0.0.1:8000/_esdr/alive"),
])
def test_keepalived_checks_the_entry_where_it_listens(listen: str, url: str) -> None:
    """An entry bound to one address does not answer on loopback."""
    model = tier(gateway_listen_address=listen)
    assert f'-o /dev/null {url}"' in keepalived_conf(model, model.host("gw1"))


@pytest.mark.parametrize(("setting", "listen", "check", "url"), [
    ("gateway_listen_address", "fd00::11", "entry", "https://[fd00::11]:8000/_esdr/alive"),
    ("gateway_api_listen_address", "::1", "api", "http://[::1]:2900/_version"),
])
def test_keepalived_checks_an_ipv6_address_in_brackets(setting, listen, check, url) -> None:
    """Without brackets ``http://fd00::11:8000/...`` names no port (RFC 3986 section 3.2.2):
    curl fails every check and keepalived gives the VIP up on every host."""
    model = tier({**KEEPALIVED, "check": check}, **{setting: listen})
    conf = keepalived_conf(model, model.host("gw1"))
    assert f'-o /dev/null {url}"' in conf


def test_keepalived_accepts_the_bracketed_check(tmp_path) -> None:
    """keepalived's own config test (``keepalived -t``) reads the IPv6 check as written."""
    import shutil
    import subprocess

    keepalived = shutil.which("keepalived") or shutil.which("/usr/sbin/keepalived")
    if keepalived is None:
        pytest.skip("keepalived is not installed here")
    model = tier(gateway_listen_address="fd00::11")
    conf = tmp_path / "keepalived.conf"
    conf.write_text(keepalived_conf(model, model.host("gw1")))
    result = subprocess.run([keepalived, "-t", "-f", str(conf)], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def test_keepalived_nopreempt_starts_every_host_as_backup() -> None:
    model = tier({**tier().settings["gateway_front_door"], "nopreempt": True})
    for name in ("gw1", "gw2"):
        conf = keepalived_conf(model, model.host(name))
        assert "state BACKUP" in conf and "    nopreempt\n" in conf


def test_nginx_hashes_by_index_with_max_fails() -> None:
    model = tier({"kind": "nginx"}, balancers=(("lb1", "10.0.0.5"),))
    site = nginx_site(model, model.host("lb1"))
    assert "hash $esdr_index consistent;" in site
    assert 'map $uri $esdr_index {\n    "~^/([^/_][^/]*)" $1;' in site
    assert "server 10.0.0.11:8000 max_fails=2 fail_timeout=10s;  # gw1" in site
    assert "backup" not in site.split("upstream", 1)[1].split("}", 1)[0]


def test_nginx_backup_turns_hashing_off() -> None:
    model = tier(
        {"kind": "nginx", "upstreams": ["gw1"], "backup": ["gw2"], "hash_by_index": False},
        balancers=(("lb1", "10.0.0.5"),),
    )
    site = nginx_site(model, model.host("lb1"))
    assert "hash " not in site
    assert "server 10.0.0.12:8000 max_fails=2 fail_timeout=10s backup;  # gw2" in site


def test_files_per_host_kind() -> None:
    model = tier({"kind": "nginx"}, balancers=(("lb1", "10.0.0.5"),))
    assert [f.path for f in host_files(model, model.host("gw1"))] == [
        "/etc/infini-gateway/gateway.yml",
        "/etc/systemd/system/infini-gateway.service",
    ]
    assert [f.path for f in host_files(model, model.host("lb1"))] == [
        "/etc/nginx/conf.d/esdr-gateways.conf"
    ]


def test_unit_reads_secrets_from_the_environment_file() -> None:
    unit = gateway_unit(tier())
    assert "EnvironmentFile=/etc/infini-gateway/gateway.env" in unit
    assert "ConditionPathExists=/opt/infini-gateway/current/gateway-linux-amd64" in unit
    assert "User=infini-gateway" in unit
    assert "CAP_NET_ADMIN" not in unit


def test_floating_ip_renders_the_gateways_own_section() -> None:
    model = tier({"kind": "floating_ip", "vips": [{"address": "10.0.0.100/24"}]})
    doc = _doc(model)
    assert doc["floating_ip"] == {
        "enabled": True,
        "ip": "10.0.0.100",
        "netmask": "255.255.255.0",
        "interface": "eth0",
        "priority": 150,
    }
    assert "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW" in gateway_unit(model)
