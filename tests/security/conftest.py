from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _small_keys(monkeypatch):
    """RSA key generation dominates these tests; the sizes are not what they check."""
    from esdr.security import certs

    monkeypatch.setattr(certs, "CA_KEY_BITS", 2048)
    monkeypatch.setattr(certs, "NODE_KEY_BITS", 1024)
