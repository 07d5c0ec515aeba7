"""The gateway's admin API stays on loopback unless the operator says otherwise by name, and a
cluster password the gateway could not receive intact is refused before any host is touched.

The API has no authentication and answers both clusters' passwords (GET /config/runtime, GET
/environments: tests/gateway/test_binary_api_loopback.py shows it with the real binary). The
passwords reach the gateway through ``$[[env.NAME]]`` in gateway.yml's text, where '=', '"',
'\\' and more are mangled (esdr/gateway/secrets.py says how, from the framework's source).
"""

from __future__ import annotations

import copy

import pytest

from esdr.checks.gateway import validate_tier
from esdr.errors import EsdrError
from esdr.gateway.render import secrets_file
from esdr.model import HostSpec
from tests.gateway.factory import CLUSTERS, tier
from tests.gateway.limits import memory_cap

OPT_IN = "gateway_api_allow_remote_unauthenticated"


def _problems(model) -> dict[str, str]:
    return {p.rule: f"{p.severity}: {p.where}: {p.message}" for p in validate_tier(model)}


def _lab_tier(**data):
    """A tier whose hosts all say es_lab = True (a lab inventory's group data)."""
    from esdr.gateway.model import tier_from_hosts

    model = tier(**data)
    specs = [HostSpec(g.name, g.groups, {"ssh_hostname": g.address, "es_lab": True,
                                         **{k: v for k, v in model.settings.items()
                                            if v is not None}})
             for g in model.gateways]
    lab = tier_from_hosts(specs, source="lab.py")
    assert lab is not None and lab.lab
    return lab


# --- the API on loopback ---------------------------------------------------------------------


def test_the_api_listens_on_loopback_by_default() -> None:
    model = tier()
    assert model["gateway_api_listen_address"] == "127.0.0.1"
    assert not {"gateway-api-not-loopback", "gateway-api-exposed"} & set(_problems(model))


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "10.0.0.11", "gw1.example.internal"])
def test_a_non_loopback_api_is_refused_without_the_opt_in(address: str) -> None:
    message = _problems(tier(gateway_api_listen_address=address))["gateway-api-not-loopback"]
    assert message.startswith("error: gateways (test.py)")
    assert f"gateway_api_listen_address {address}:" in message
    assert "passwords" in message and "127.0.0.1" in message and OPT_IN in message


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.53", "::1", "localhost"])
def test_every_loopback_address_passes(address: str) -> None:
    assert "gateway-api-not-loopback" not in _problems(
        tier(gateway_api_listen_address=address))


def test_the_opt_in_allows_it_with_a_warning_outside_a_lab_and_quietly_in_one() -> None:
    problems = _problems(tier(gateway_api_listen_address="0.0.0.0", **{OPT_IN: True}))
    assert "gateway-api-not-loopback" not in problems
    assert problems["gateway-api-exposed"].startswith("warning:")
    assert "passwords" in problems["gateway-api-exposed"]
    lab = _problems(_lab_tier(gateway_api_listen_address="0.0.0.0", **{OPT_IN: True}))
    assert not {"gateway-api-not-loopback", "gateway-api-exposed"} & set(lab)
    # a lab without the opt-in is refused too
    assert "gateway-api-not-loopback" in _problems(
        _lab_tier(gateway_api_listen_address="0.0.0.0"))


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_the_opt_in_is_true_or_false_only(value) -> None:
    problems = _problems(tier(gateway_api_listen_address="0.0.0.0", **{OPT_IN: value}))
    assert "gateway-api-not-loopback" in problems
    assert f"{OPT_IN} must be True or False" in problems["gateway-setting-invalid"]


def test_direct_transport_cannot_reach_a_loopback_api_of_another_host() -> None:
    message = _problems(tier(gateway_api_transport="direct"))["gateway-api-unreachable"]
    assert message.startswith("error:") and "gw1, gw2" in message and "'ssh'" in message
    # a gateway on this machine (the loopback tests) is reached there
    here = tier(gateway_api_transport="direct", gateways=(("gw1", "127.0.0.1"),))
    assert "gateway-api-unreachable" not in _problems(here)


def test_the_checked_in_inventories_keep_the_api_on_loopback() -> None:
    from pathlib import Path

    from esdr.project import load_project

    root = Path(__file__).resolve().parents[2]
    for name in ("prod.py", "lab_gateways.py", "lab_gateways_nginx.py"):
        model = load_project(root / "inventories" / name).tier
        assert model["gateway_api_listen_address"] == "127.0.0.1", name
        assert not {"gateway-api-not-loopback", "gateway-api-unreachable"} & set(
            _problems(model)), name


# --- passwords the gateway could not receive intact -------------------------------------------


UNUSABLE = {
    "a=b": "'='",
    'a"b': "'\"'",
    "a\\tb": "a backslash",
    "it's": "a single quote",
    "x$[[env.OTHER]]": "'$[['",
    "tab\there": "a control or line-break character",
    "line\u2028sep": "a control or line-break character",
}


@pytest.mark.parametrize(("password", "named"), list(UNUSABLE.items()))
def test_a_password_the_gateway_would_mangle_is_refused(monkeypatch, password: str,
                                                         named: str) -> None:
    monkeypatch.setenv("DC1_PW", password)
    problems = validate_tier(tier())
    (problem,) = [p for p in problems if p.rule == "gateway-password-unusable"]
    assert problem.severity == "error"
    assert problem.where == "gateway cluster primary (dc1)"
    assert "{'env': 'DC1_PW'}" in problem.message
    assert "gateway_clusters.primary.password" in problem.message
    assert named in problem.message and "choose a password without" in problem.message
    assert password not in str(problem) and "\n" not in str(problem)


def test_a_password_file_is_checked_too_and_the_secret_never_shown(monkeypatch, tmp_path):
    monkeypatch.setenv("DC1_PW", "fine-password")
    secret = tmp_path / "dc2.pw"
    secret.write_text('p="w=d\n')
    clusters = copy.deepcopy(CLUSTERS)
    clusters["backup"]["password"] = {"file": str(secret)}
    problems = [p for p in validate_tier(tier(gateway_clusters=clusters))
                if p.rule == "gateway-password-unusable"]
    assert [p.where for p in problems] == ["gateway cluster backup (dc2)"]
    assert "'='" in problems[0].message and "'\"'" in problems[0].message
    assert 'p="w=d' not in str(problems[0])


def test_safe_or_absent_passwords_pass(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DC1_PW", "Ab1-_.~!@#%^&*+,:;?/ $x")
    assert "gateway-password-unusable" not in _problems(tier())  # dc2's file is absent here
    monkeypatch.delenv("DC1_PW")
    assert "gateway-password-unusable" not in _problems(tier())  # esdr validate without secrets
    clusters = copy.deepcopy(CLUSTERS)
    clusters["backup"]["password"] = {"file": "/dev/zero"}  # not read: no regular file
    assert "gateway-password-unusable" not in _problems(tier(gateway_clusters=clusters))


def test_the_deploy_refuses_it_too_without_showing_it(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DC1_PW", "a=b")
    with pytest.raises(EsdrError) as caught:
        secrets_file(tier())
    assert "{'env': 'DC1_PW'}" in str(caught.value) and "'='" in str(caught.value)
    assert "a=b" not in str(caught.value)


def test_a_password_reference_to_a_device_is_refused_not_read_forever() -> None:
    clusters = copy.deepcopy(CLUSTERS)
    clusters["primary"]["password"] = {"file": "/dev/zero"}
    model = tier(gateway_clusters=clusters)
    with memory_cap(), pytest.raises(EsdrError, match="/dev/zero is not a regular file"):
        secrets_file(model)


def test_a_value_gateway_yml_cannot_carry_is_one_problem_not_an_exception() -> None:
    clusters = copy.deepcopy(CLUSTERS)
    clusters["primary"]["endpoints"] = ["https://$[[env.DC2_PW]]:9200"]
    problems = _problems(tier(gateway_clusters=clusters))
    assert problems["gateway-unrenderable"].startswith("error: rendered gateway.yml of gw1")
    assert "'$[['" in problems["gateway-unrenderable"]
