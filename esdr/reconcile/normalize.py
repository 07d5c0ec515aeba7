"""Compare the way Elasticsearch answers: settings come back as strings ("true", "3")."""

from __future__ import annotations

from typing import Any


def norm(value: Any) -> Any:
    """``True`` -> ``"true"``, ``3`` -> ``"3"``, lists and dicts element-wise; ``None`` stays."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return [norm(v) for v in value]
    if isinstance(value, dict):
        return {str(k): norm(v) for k, v in value.items()}
    return str(value)
