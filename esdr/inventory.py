"""Load a pyinfra inventory (plus its group_data) exactly as the pyinfra CLI does."""

from __future__ import annotations

from pathlib import Path

import sys

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


def load_inventory(inventory_path: str | Path) -> Inventory:
    """Build a pyinfra ``Inventory`` with group data, as ``pyinfra INVENTORY ...`` would.

    group_data is read from ``<project>/group_data`` where ``<project>`` is the parent of the
    ``inventories/`` folder, so ``esdr`` commands work from any working directory.
    """
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
            return make_inventory_from_files(str(path), cwd=str(root))
    except Exception as exc:  # a user's Python file: show what broke, not our stack
        # pyinfra wraps errors in user files with the file's name; its str() is unusable
        where = getattr(exc, "filename", None) or str(inventory_path)
        cause = getattr(exc, "exception", exc)
        raise BadInput(
            f"{where}: could not be loaded: {type(cause).__name__}: {cause}",
            hint="fix the Python error in the inventory or its group_data files",
        ) from exc


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
