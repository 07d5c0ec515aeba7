"""``esdr secrets rotate-elastic``: the password changes through the API first, then where the
inventory references it, never shown; a rerun after a stop in between finishes the job. The
cluster here is a fake that checks passwords as Elasticsearch's security API would; the real
one is tests/security_lab/test_rotation_lab.py."""

from __future__ import annotations

import stat

import pytest
from click.testing import CliRunner
from elasticsearch import AuthenticationException

from esdr.cli import secrets as command
from esdr.cli.main import cli
from tests.security.test_ca_expiry import _inventory

OLD = "old-Passw0rd-for-the-test"


class FakeCluster:
    def __init__(self, password: str):
        self.password = password
        self.changes = 0
        self.refuse: Exception | None = None

    def client(self, topology, password: str):
        cluster = self

        class Security:
            def authenticate(self):
                if password != cluster.password:
                    raise AuthenticationException(message="401", meta=None, body={})
                return {"username": "elastic"}

            def change_password(self, username: str, password: str, refresh: str):
                self.authenticate()
                if cluster.refuse:
                    raise cluster.refuse
                assert username == "elastic"
                cluster.password, cluster.changes = password, cluster.changes + 1

        class Client:
            security = Security()

        return Client()


@pytest.fixture
def project(tmp_path, monkeypatch):
    inventory = _inventory(tmp_path, {})
    group = tmp_path / "group_data" / "inv.py"
    password_file = tmp_path / "elastic-password"
    password_file.write_text(OLD + "\n")
    password_file.chmod(0o600)
    group.write_text(group.read_text().replace("es_ca = {}\n", "").replace(
        "{'env': 'NO_SUCH_ESDR_VAR'}", repr({"file": str(password_file)})))
    deploys: list[str] = []
    monkeypatch.setattr(command, "run_site",
                        lambda inv, root, what, resume: deploys.append(inv) or 2.0)
    return inventory, password_file, deploys


def test_rotates_through_the_api_then_the_file_then_the_nodes(project, monkeypatch) -> None:
    inventory, password_file, deploys = project
    cluster = FakeCluster(OLD)
    monkeypatch.setattr(command, "_client", cluster.client)
    result = CliRunner().invoke(cli, ["secrets", "rotate-elastic", str(inventory)])
    assert result.exit_code == 0, result.output
    new = password_file.read_text().strip()
    assert new != OLD and cluster.password == new and cluster.changes == 1
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert not list(password_file.parent.glob(".*.next"))
    assert new not in result.output and OLD not in result.output
    assert deploys == [str(inventory)]


def test_a_rerun_after_the_api_change_stores_the_pending_password(project, monkeypatch) -> None:
    inventory, password_file, deploys = project
    pending = password_file.with_name(f".{password_file.name}.next")
    pending.write_text("the-pending-new-one\n")
    pending.chmod(0o600)  # as esdr writes it
    cluster = FakeCluster("the-pending-new-one")  # the first run stopped after the API call
    monkeypatch.setattr(command, "_client", cluster.client)
    result = CliRunner().invoke(cli, ["secrets", "rotate-elastic", str(inventory)])
    assert result.exit_code == 0, result.output
    assert "already takes the new password" in result.output and cluster.changes == 0
    assert password_file.read_text().strip() == "the-pending-new-one" and not pending.exists()


def test_neither_password_working_changes_nothing(project, monkeypatch) -> None:
    inventory, password_file, deploys = project
    monkeypatch.setattr(command, "_client", FakeCluster("someone-else-set-it").client)
    result = CliRunner().invoke(cli, ["secrets", "rotate-elastic", str(inventory)])
    assert result.exit_code == 1 and "refuses the elastic password" in result.output
    assert password_file.read_text().strip() == OLD and deploys == []


def test_an_env_reference_is_refused_before_anything_changes(tmp_path, monkeypatch) -> None:
    inventory = _inventory(tmp_path, {})
    group = tmp_path / "group_data" / "inv.py"
    group.write_text(group.read_text().replace("es_ca = {}\n", ""))
    monkeypatch.setattr(command, "_client", lambda *a: pytest.fail("no API call expected"))
    result = CliRunner().invoke(cli, ["secrets", "rotate-elastic", str(inventory)])
    assert result.exit_code == 2 and "not a file reference" in result.output


def test_a_refused_change_keeps_the_old_password_and_stores_nothing(project, monkeypatch) -> None:
    from elasticsearch import ApiError

    inventory, password_file, deploys = project
    cluster = FakeCluster(OLD)
    # What the lab's integ-test build answers: its .security index needs analysis-common
    cluster.refuse = ApiError("illegal_argument_exception", meta=_Meta(400), body={
        "error": {"type": "illegal_argument_exception",
                  "reason": "Unknown filter type [pattern_capture] for [email]"}})
    monkeypatch.setattr(command, "_client", cluster.client)
    result = CliRunner().invoke(cli, ["secrets", "rotate-elastic", str(inventory)])
    assert result.exit_code == 1, result.output
    assert "refused the password change" in result.output and "pattern_capture" in result.output
    assert password_file.read_text().strip() == OLD and cluster.password == OLD
    assert not list(password_file.parent.glob(".*.next")) and deploys == []


class _Meta:
    def __init__(self, status: int):
        self.status = status


def test_a_password_file_others_may_read_is_refused_before_any_change(project,
                                                                      monkeypatch) -> None:
    inventory, password_file, deploys = project
    password_file.chmod(0o644)
    cluster = FakeCluster(OLD)
    monkeypatch.setattr(command, "_client", cluster.client)
    result = CliRunner().invoke(cli, ["secrets", "rotate-elastic", str(inventory)])
    assert result.exit_code != 0 and "readable by others" in result.output, result.output
    assert cluster.changes == 0 and password_file.read_text() == OLD + "\n"
    assert OLD not in result.output and deploys == []
