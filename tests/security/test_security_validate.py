"""Security validation: off outside a lab, literal secrets, addresses certificates miss."""

from __future__ import annotations

import pytest

from esdr.checks import validate
from esdr.problems import errors
from tests.unit.topo_factory import build, shape_a, topology


def rules(t, severity: str | None = None) -> set[str]:
    return {p.rule for p in validate(t) if severity is None or p.severity == severity}


def test_the_default_is_valid_and_secure() -> None:
    assert rules(topology()) == set()


def test_security_off_outside_a_lab_is_an_error() -> None:
    problems = validate(topology(es_security=False))
    (problem,) = [p for p in errors(problems)]
    assert problem.rule == "security-off-outside-lab"
    assert "es_lab = True" in problem.message


def test_security_off_in_a_lab_is_a_loud_warning() -> None:
    problems = validate(topology(es_security=False, es_lab=True))
    assert not errors(problems)
    (warning,) = [p for p in problems if p.rule == "security-off"]
    assert warning.severity == "warning" and "SECURITY IS OFF" in warning.message


def test_a_literal_password_is_refused_without_echoing_it() -> None:
    problems = validate(topology(es_elastic_password="hunter2-literal"))
    (problem,) = errors(problems)
    assert problem.rule == "secret-literal"
    assert "hunter2" not in str(problem)


@pytest.mark.parametrize(
    "value",
    [{"env": "1BAD"}, {"file": "relative/path"}, {"vault": "x"}, {"env": "A", "file": "/b"}, 42],
)
def test_a_malformed_reference_is_refused(value) -> None:
    assert rules(topology(es_elastic_password=value), "error") == {"secret-invalid"}


def test_a_missing_password_is_refused() -> None:
    assert rules(topology(es_elastic_password=None), "error") == {"elastic-password-missing"}


def test_a_host_name_address_without_an_ip_san_is_warned() -> None:
    hosts, base = shape_a()
    for name, _, data in hosts:
        data["ssh_hostname"] = f"{name}.example.internal"
    assert rules(build(hosts, base)) == {"cert-missing-publish-ip"}
    for index, (_, _, data) in enumerate(hosts):
        data["es_cert_sans"] = [f"10.1.1.{index + 1}"]
    assert rules(build(hosts, base)) == set()


def test_a_publish_host_outside_the_certificate_is_refused() -> None:
    t = topology(es_settings={"network": {"publish_host": "192.0.2.10"}})
    assert "cert-missing-publish-address" in rules(t, "error")


def test_tls_settings_are_owned() -> None:
    t = topology(es_settings={"xpack.security.transport.ssl.verification_mode": "none"})
    assert rules(t, "error") == {"owned-setting"}


def test_a_renewal_window_as_long_as_the_validity_is_refused() -> None:
    assert rules(topology(es_cert_days=30, es_cert_renew_days=30), "error") == {"cert-renew-window"}


def test_a_bad_ca_reference_is_refused() -> None:
    assert rules(topology(es_ca={"cert": "ca.crt"}), "error") == {"ca-invalid"}
