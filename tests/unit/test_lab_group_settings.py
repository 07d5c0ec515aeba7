"""The lab's generated passwords follow XDG_DATA_HOME at every load of the inventory.

A process that loads a lab inventory, moves ``XDG_DATA_HOME`` (as the rotation lab test does
for its own secrets directory) and loads it again must get the password file of the new
directory: the deploy it starts next (a new process) reads that one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from esdr.inventory import load_inventory
from tests.integration.deploy_runner import REPO


@pytest.mark.parametrize(
    ("inventory", "key", "estate", "file"),
    [
        ("lab", "es_elastic_password", "lab", "elastic-password"),
        ("lab_dc2", "es_elastic_password", "lab", "elastic-password"),
        ("lab_os", "es_admin_password", "lab_os", "admin-password"),
        ("lab_os_dc2", "es_replication_password", "lab_os", "replication-password"),
    ],
)
def test_each_load_names_the_file_under_the_current_xdg_data_home(
    inventory, key, estate, file, tmp_path, monkeypatch
) -> None:
    seen = []
    for where in ("first", "second"):
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / where))
        hosts = load_inventory(REPO / "inventories" / f"{inventory}.py").get_group(inventory)
        assert {host.data.get(key)["file"] for host in hosts} == {
            str(tmp_path / where / "esdr" / "secrets" / estate / file)}
        seen.append(hosts[0].data.get(key))
    assert seen == [
        {"file": str(tmp_path / where / "esdr" / "secrets" / estate / file)}
        for where in ("first", "second")
    ]
    for reference in seen:  # created on load, private: the tests and the deploy read it
        assert Path(reference["file"]).stat().st_mode & 0o777 == 0o600


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    import esdr_lab.group_settings as settings

    with pytest.raises(AttributeError, match="no_such_setting"):
        settings.no_such_setting  # noqa: B018
