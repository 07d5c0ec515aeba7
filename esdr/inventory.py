"""Load a pyinfra inventory (plus its group_data) as the pyinfra CLI does, without its CLI."""

from __future__ import annotations

import ast
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


class _UserFileError(Exception):
    """An error raised by a user's Python file (an inventory or a group data file)."""

    def __init__(self, exception: BaseException, filename: str):
        super().__init__(str(exception))
        self.exception, self.filename = exception, filename


def _exec_file(filename: str) -> dict[str, Any]:
    """A Python file's globals, as ``pyinfra_cli.util.exec_file`` gives them (pyinfra's state
    records the file being executed meanwhile)."""
    from pyinfra import state

    code = compile(Path(filename).read_text(encoding="utf-8"), filename, "exec")
    data: dict[str, Any] = {"__file__": filename}
    before = state.current_exec_filename
    state.current_exec_filename = filename
    try:
        exec(code, data)  # noqa: S102 - an inventory is Python by pyinfra's design
    except BadInput:
        raise
    except Exception as exc:
        raise _UserFileError(exc, filename) from exc
    finally:
        state.current_exec_filename = before
    return data


def _imported_names(filename: str) -> set[str]:
    """Names a group data file binds with ``import`` (not data, as pyinfra_cli drops them)."""
    names: set[str] = set()
    for node in ast.parse(Path(filename).read_text(encoding="utf-8"), filename).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {a.asname or a.name.split(".")[0] for a in node.names if a.name != "*"}
    return names


def _group_data(folder: Path, group: str) -> dict[str, Any]:
    path = folder / f"{group}.py"
    if not path.is_file():
        return {}
    attrs = _exec_file(str(path))
    keys = attrs["__all__"] if "__all__" in attrs else [
        k for k in attrs if k not in _imported_names(str(path))]
    return {k: v for k, v in attrs.items() if k in keys and not k.startswith("__")}


def _make_inventory(inventory_path: Path, cwd: Path) -> Inventory:
    """``pyinfra_cli.inventory.make_inventory_from_files`` without importing pyinfra's CLI
    (which monkey-patches the standard library with gevent and takes most of a second to
    import), and executing only the group data files of groups the inventory has: a host's data
    comes from its own groups only, so other DCs' group data (their estates) are not loaded.

    Same order as pyinfra: the inventory's own group data, then ``<cwd>/group_data``, then
    ``<inventory dir>/group_data``; ``all`` and the file-name group hold every host."""
    from pyinfra.context import ctx_inventory

    groups = {k: v for k, v in _exec_file(str(inventory_path)).items() if _is_group(k, v)}
    all_data: dict[str, Any] = {}
    if "all" in groups:
        all_hosts = groups.pop("all")
        if isinstance(all_hosts, tuple):
            all_hosts, all_data = all_hosts
    else:
        all_hosts = []
        for hosts in groups.values():
            for item in (hosts[0] if isinstance(hosts, tuple) else hosts):
                name = item[0] if isinstance(item, tuple) else item
                if name not in all_hosts:
                    all_hosts.append(name)
    groups["all"] = (all_hosts, all_data)
    groups.setdefault(inventory_path.name.rsplit(".", 1)[0], all_hosts)
    folders = [cwd / "group_data"]
    if str(inventory_path.parent.resolve()) != str(cwd):
        folders.append(inventory_path.parent.resolve() / "group_data")
    fake = Inventory((all_hosts, all_data), **{
        n: g if isinstance(g, tuple) else (g, {}) for n, g in groups.items()})
    built: dict[str, Any] = {}
    with ctx_inventory.use(fake):  # group data may read the inventory, as under pyinfra
        for name, hosts in groups.items():
            hosts, data = hosts if isinstance(hosts, tuple) else (hosts, {})
            data = dict(data)
            for folder in folders:
                data.update(_group_data(folder, name))
            built[name] = (hosts, data)
    return Inventory(built.pop("all"), **built)


def _is_group(key: str, value: Any) -> bool:
    """pyinfra_cli's rule: a public list (or ``(list, data)``) of host names or tuples."""
    if key.startswith("_") or not isinstance(value, (list, tuple)):
        return False
    hosts = value[0] if isinstance(value, tuple) else value
    return all(isinstance(item, (str, tuple)) for item in hosts)


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
            return _make_inventory(path, root), entries
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
    entries: HostEntries = {}
    for group, value in _exec_file(str(path)).items():
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
