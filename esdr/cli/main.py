"""The ``esdr`` command: every subcommand registered here at import; commands that live outside
the product (the lab's) come in through the ``esdr.commands`` entry-point group."""

from __future__ import annotations

from importlib.metadata import entry_points

import click

from esdr.cli import apply, certs, cluster, gateway, inventory, secrets
from esdr.cli.prints import Printer

PLUGIN_GROUP = "esdr.commands"


class EsdrGroup(click.Group):
    """The built-in commands, plus the ``esdr.commands`` entry points, loaded only when named."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_plugins()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in _plugins():
            command = _plugins()[name].load()
        return command


def _plugins() -> dict:
    return {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}


@click.group(cls=EsdrGroup)
@click.version_option(package_name="esdr")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout, not text.")
@click.pass_context
def cli(ctx: click.Context, as_json: bool) -> None:
    """Build and keep Elasticsearch highly available across zones and data centres."""
    ctx.obj = Printer(as_json)


for command in (inventory.validate, inventory.render, cluster.plan, apply.apply,
                cluster.promote, cluster.failback, certs.certs, gateway.gateway,
                secrets.secrets):
    cli.add_command(command)


def main() -> None:
    cli()
