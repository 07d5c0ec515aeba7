"""Gateway settings that would leak or mix up a secret, or install an unchecked binary, are
refused with a named rule before any host is touched."""

from __future__ import annotations

import copy

from esdr.checks.gateway import validate_tier
from esdr.gateway.secrets import runtime_env_name
from tests.gateway.factory import CLUSTERS, tier

SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def _problems(model) -> dict[str, str]:
    return {p.rule: f"{p.severity}: {p.where}: {p.message}" for p in validate_tier(model)}


def _clusters(primary: dict | None = None, backup: dict | None = None) -> dict:
    clusters = copy.deepcopy(CLUSTERS)
    clusters["primary"].update(primary or {})
    clusters["backup"].update(backup or {})
    return clusters


def test_cluster_names_sharing_one_password_variable_are_refused() -> None:
    assert runtime_env_name("search-dc1") == runtime_env_name("search_dc1")
    problems = _problems(tier(gateway_clusters=_clusters({"name": "search-dc1"},
                                                         {"name": "search_dc1"})))
    assert "password-variable-collision" in problems
    message = problems["password-variable-collision"]
    assert message.startswith("error:") and "ESDR_GW_SEARCH_DC1_PASSWORD" in message
    assert "search-dc1 and search_dc1" in message


def test_names_differing_by_a_dot_or_case_collide_too() -> None:
    problems = _problems(tier(gateway_clusters=_clusters({"name": "dc.1"}, {"name": "DC-1"})))
    assert "password-variable-collision" in problems


def test_distinct_variables_pass() -> None:
    problems = _problems(tier(gateway_clusters=_clusters({"name": "dc-1"}, {"name": "dc-2"})))
    assert "password-variable-collision" not in problems


def test_credentials_over_plain_http_are_refused() -> None:
    plain = _clusters({"endpoints": ["http://10.0.1.10:9200", "https://10.0.1.11:9200"]})
    problems = _problems(tier(gateway_clusters=plain))
    message = problems["credentials-over-plain-http"]
    assert message.startswith("error: gateway cluster primary (dc1)")
    assert "http://10.0.1.10:9200" in message and "https://10.0.1.11" not in message
    assert "gateway_allow_plain_http" in message


def test_a_lab_may_allow_plain_http_explicitly() -> None:
    plain = _clusters({"endpoints": ["http://10.0.1.10:9200"]})
    lab = _problems(tier(gateway_clusters=plain, gateway_allow_plain_http=True, es_lab=True))
    assert "credentials-over-plain-http" not in lab
    assert lab["gateway-plain-http"].startswith("warning:")  # allowed, and said
    # outside a lab inventory the setting itself is refused (tests/gateway/test_front_door_tls.py)
    assert "gateway-plain-http-outside-lab" in _problems(
        tier(gateway_clusters=plain, gateway_allow_plain_http=True))
    # only a real True: a string such as "no" is not a yes
    assert "credentials-over-plain-http" in _problems(
        tier(gateway_clusters=plain, gateway_allow_plain_http="no"))


def test_plain_http_without_credentials_is_not_a_leak() -> None:
    anonymous = _clusters({"endpoints": ["http://10.0.1.10:9200"], "username": None,
                           "password": None})
    assert "credentials-over-plain-http" not in _problems(tier(gateway_clusters=anonymous))


def test_archive_url_without_checksum_is_refused() -> None:
    url = "https://mirror.example.internal/gateway-1.29.4-linux-amd64.tar.gz"
    problems = _problems(tier(gateway_archive_url=url, gateway_version="1.29.4"))
    assert problems["archive-checksum-missing"].startswith("error:")
    assert "gateway_archive_sha256" in problems["archive-checksum-missing"]
    checked = _problems(tier(gateway_archive_url=url, gateway_version="1.29.4",
                             gateway_archive_sha256=SHA256))
    assert not {"archive-checksum-missing", "archive-checksum-invalid"} & set(checked)


def test_a_checksum_that_is_no_sha256_is_refused() -> None:
    url = "https://mirror.example.internal/gateway.tar.gz"
    problems = _problems(tier(gateway_archive_url=url, gateway_version="1.29.4",
                              gateway_archive_sha256="md5:abc"))
    assert "archive-checksum-invalid" in problems


def test_a_sha512_checksum_serves_as_well_and_is_checked() -> None:
    url = "http://10.88.0.1:8099/gateway-1.0.0_SNAPSHOT-linux-amd64.tar.gz"
    good = _problems(tier(gateway_archive_url=url, gateway_version="1.0.0_SNAPSHOT",
                          gateway_archive_sha512="a" * 128))
    assert not {"archive-checksum-missing", "archive-checksum-invalid"} & set(good)
    short = _problems(tier(gateway_archive_url=url, gateway_version="1.0.0_SNAPSHOT",
                           gateway_archive_sha512="a" * 64))
    assert "sha512 hex digest" in short["archive-checksum-invalid"]
    both = _problems(tier(gateway_archive_url=url, gateway_version="1.0.0_SNAPSHOT",
                          gateway_archive_sha512="a" * 128, gateway_archive_sha256=SHA256))
    assert "archive-checksum-ambiguous" in both


def test_a_cluster_without_a_pinned_version_is_warned_about() -> None:
    """The gateway exits at start when an unpinned cluster does not answer its GET / probe."""
    unpin = {"version": None, "distribution": None}
    problems = _problems(tier(gateway_clusters=_clusters(unpin, unpin)))
    assert problems["cluster-version-unpinned"].startswith("warning:")
    half = _problems(tier(gateway_clusters=_clusters(None, unpin)))
    assert "gateway cluster backup" in half["cluster-version-unpinned"]
    pinned = _clusters()
    assert "cluster-version-unpinned" not in _problems(tier(gateway_clusters=pinned))


def test_the_checked_in_inventories_pass_the_new_rules() -> None:
    from pathlib import Path

    from esdr.project import load_project

    root = Path(__file__).resolve().parents[2]
    for name in ("prod.py", "lab_gateways.py", "lab_gateways_nginx.py"):
        model = load_project(root / "inventories" / name).tier
        rules = set(_problems(model))
        assert not rules & {"password-variable-collision", "credentials-over-plain-http",
                            "archive-checksum-missing", "archive-checksum-invalid",
                            "gateway-plain-http-outside-lab"}, name


def test_a_connect_timeout_not_below_the_request_timeout_is_refused() -> None:
    # the connect would outlast the request: a primary that takes no connection would show as
    # a request timeout, which the fall-back to the backup does not take (docs/gateway-failover.md)
    problems = _problems(tier(gateway_connect_timeout="10s", gateway_request_timeout="5s"))
    message = problems["dial-timeout-not-below-timeout"]
    assert message.startswith("error: rendered gateway.yml of gw1")
    assert "dial_timeout 10s is not shorter than timeout 5s" in message
    assert "gateway_connect_timeout" in message and "gateway_request_timeout" in message
    # unset, the framework's own connect timeout (3s) counts
    assert "dial-timeout-not-below-timeout" in _problems(
        tier(gateway_connect_timeout=None, gateway_request_timeout="2s"))
    assert "dial-timeout-not-below-timeout" not in _problems(
        tier(gateway_connect_timeout="2s", gateway_request_timeout="2.5s"))


def test_a_timeout_that_is_no_duration_is_refused() -> None:
    for value in ("10", "ten seconds", "0s", 5):
        problems = _problems(tier(gateway_request_timeout=value))
        message = problems["timeout-invalid"]
        assert message.startswith("error: rendered gateway.yml of gw1"), value
        assert "gateway_request_timeout" in message and "Go duration" in message
    assert "timeout-invalid" not in _problems(tier(gateway_connect_timeout="1m30s"))


def test_the_default_timeouts_pass() -> None:
    problems = _problems(tier())
    assert not {"dial-timeout-not-below-timeout", "timeout-invalid"} & set(problems)
