"""The ``esdr`` command: every subcommand is named here and its module imported only when that
command runs (``esdr gateway lint`` needs no cluster client, ``esdr validate`` no SSH); commands
that live outside the product (the lab's) come in through the ``esdr.commands`` entry-point
group."""

from __future__ import annotations

from importlib import import_module

import click

from esdr import __version__
from esdr.cli.prints import Printer

PLUGIN_GROUP = "esdr.commands"

# command name -> (module under esdr.cli, attribute): imported when the command is named
BUILT_IN = {
    "init": ("init", "init"),
    "validate": ("inventory", "validate"),
    "render": ("inventory", "render"),
    "plan": ("cluster", "plan"),
    "apply": ("apply", "apply"),
    "promote": ("cluster", "promote"),
    "failback": ("cluster", "failback"),
    "switchover": ("switchover", "switchover"),
    "certs": ("certs", "certs"),
    "gateway": ("gateway", "gateway"),
    "secrets": ("secrets", "secrets"),
    "status": ("status", "status"),
    "verify": ("verify", "verify"),
    "diagram": ("diagram", "diagram"),
}


class EsdrGroup(click.Group):
    """The built-in commands and the ``esdr.commands`` entry points, each loaded only when
    named (``--help`` lists them all, so it loads them all)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(BUILT_IN) | set(_plugins()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in BUILT_IN:
            module, attribute = BUILT_IN[name]
            command = getattr(import_module(f"esdr.cli.{module}"), attribute)
            self.add_command(command, name)
        elif command is None and name in _plugins():
            command = _plugins()[name].load()
        return command


def _plugins() -> dict:
    from importlib.metadata import entry_points  # scans every installed distribution: on demand

    return {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}


@click.group(cls=EsdrGroup)
@click.version_option(__version__, prog_name="esdr")  # the one version: esdr/__init__.py
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout, not text.")
@click.pass_context
def cli(ctx: click.Context, as_json: bool) -> None:
    """Build and keep Elasticsearch highly available across zones and data centres."""
    ctx.obj = Printer(as_json)


def main() -> None:
    cli(prog_name="esdr")  # "esdr" in usage lines under `python -m esdr` too
