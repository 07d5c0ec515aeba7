"""Load a pyinfra inventory (plus its group_data) exactly as the pyinfra CLI does."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pyinfra.api import Inventory

from esdr.errors import BadInput


def project_root_for(inventory_path: str | Path) -> Path:
    """The directory holding ``inventories/`` and ``group_data/`` (pyinfra's cwd convention)."""
    path = Path(inventory_path).resolve()
    if path.parent.name == "inventories":
        return path.parent.parent
    return Path.cwd()


def _inventory_loader():
    """pyinfra's own inventory loader, without gevent's monkey-patching where pyinfra is not
    running.

    Importing ``pyinfra_cli`` patches the standard library with gevent, which pyinfra needs for
    its SSH fan-out. In a process that only loads an inventory and then calls cluster APIs
    over TLS (``esdr plan``, the tests), patching after ``ssl`` is in use makes urllib3 recurse
    in ``SSLContext`` (https://github.com/gevent/gevent/issues/1016). Inside a pyinfra run the
    patch is already done and this changes nothing.
    """
    if "pyinfra_cli" not in sys.modules:
        from gevent import monkey

        patch_all = monkey.patch_all
        monkey.patch_all = lambda *args, **kwargs: None
        try:
            from pyinfra_cli.inventory import make_inventory_from_files
        finally:
            monkey.patch_all = patch_all
    from pyinfra_cli.inventory import make_inventory_from_files

    return make_inventory_from_files


# What an inventory file says of each host, group by group, before pyinfra merges it:
# host name -> [(group, data), ...] in file order.
HostEntries = dict[str, list[tuple[str, dict[str, Any]]]]


def load_inventory(inventory_path: str | Path) -> Inventory:
    """Build a pyinfra ``Inventory`` with group data, as ``pyinfra INVENTORY ...`` would.

    group_data is read from ``<project>/group_data`` where ``<project>`` is the parent of the
    ``inventories/`` folder, so ``esdr`` commands work from any working directory.
    """
    return load_inventory_entries(inventory_path)[0]


def load_inventory_entries(inventory_path: str | Path) -> tuple[Inventory, HostEntries]:
    """The ``Inventory``, and each host's entries as the file lists them (``esdr.schema``
    refuses a host listed twice with different data, which pyinfra would merge silently)."""
    from pyinfra.api import State
    from pyinfra.context import ctx_state

    make_inventory_from_files = _inventory_loader()

    path = Path(inventory_path)
    if not path.is_file():
        raise BadInput(
            f"inventory {inventory_path}: no such file",
            hint="pass the path of an inventory file, e.g. inventories/prod.py",
        )
    root = project_root_for(path)
    try:
        # pyinfra's loader records the file being executed on the current State
        with ctx_state.use(State()):
            entries = _host_entries(path)
            return make_inventory_from_files(str(path), cwd=str(root)), entries
    except BadInput:
        raise
    except Exception as exc:  # a user's Python file: show what broke, not our stack
        # pyinfra wraps errors in user files with the file's name; its str() is unusable
        where = getattr(exc, "filename", None) or str(inventory_path)
        cause = getattr(exc, "exception", exc)
        if isinstance(cause, BadInput):  # esdr's own loader in group data (the estate file)
            raise BadInput(cause.message, cause.hint) from exc
        raise BadInput(
            f"{where}: could not be loaded: {type(cause).__name__}: "
            + " ".join(str(cause).split()),
            hint="fix the Python error in that file",
        ) from exc


def _host_entries(path: Path) -> HostEntries:
    """Each host's (group, data) entries, with the shape pyinfra needs checked first: pyinfra
    fails on host data that is not a dict with an error that names neither host nor group.
    Groups are the file's public lists, or ``(hosts, data)`` tuples, as pyinfra reads them."""
    from pyinfra_cli.util import exec_file

    entries: HostEntries = {}
    for group, value in exec_file(str(path), return_locals=True).items():
        if group.startswith("_") or not isinstance(value, (list, tuple)):
            continue
        hosts = value[0] if isinstance(value, tuple) and value else value
        if not isinstance(hosts, list):
            continue
        if not all(isinstance(item, (str, tuple)) for item in hosts):
            if group.startswith(("es_", "gateway")):  # pyinfra would drop the group silently
                raise BadInput(
                    f"{path}: group {group} holds something that is not a host",
                    hint='list hosts as "name" or ("name", {"zone": "az1", ...})',
                )
            continue  # not a group to pyinfra either (it warns and skips it)
        for item in hosts:
            name, data = (item, {}) if isinstance(item, str) else _entry(path, group, item)
            entries.setdefault(name, []).append((group, data))
    return entries


def _entry(path: Path, group: str, item: Any) -> tuple[str, dict[str, Any]]:
    if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
        raise BadInput(
            f"{path}: group {group}: {_short(item)} is not a host",
            hint='write a host as "name" or ("name", {"zone": "az1", ...})',
        )
    if not isinstance(item[1], dict):
        raise BadInput(
            f"{path}: host {item[0]!r} in group {group}: its data is a "
            f"{type(item[1]).__name__}, not a dict",
            hint='write it as ("name", {"zone": "az1", ...})',
        )
    return item


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def datacentre_of(inventory: Inventory) -> str:
    """The data centre an inventory describes: the group pyinfra names after its file.

    Works the same in the deploy (where only the ``Inventory`` is known) and in the CLI.
    """
    hosts = {h.name for h in inventory}
    for name in sorted(inventory.groups):
        if name == "all" or name.startswith("es_"):
            continue
        if {h.name for h in inventory.groups[name]} == hosts:
            return name
    return "dc"
