"""Upload a file computed by the pure renderers, exactly as rendered (path, owner, mode)."""

from __future__ import annotations

from io import StringIO

from pyinfra.api.operation import OperationMeta
from pyinfra.operations import files

from esdr.render import RenderedFile


def put_rendered(rendered: RenderedFile) -> OperationMeta:
    """``files.put`` of one ``RenderedFile``; the result tells whether it changed."""
    return files.put(
        name=f"Render {rendered.path}",
        src=StringIO(rendered.content),
        dest=rendered.path,
        user=rendered.user,
        group=rendered.group,
        mode=rendered.mode,
    )
