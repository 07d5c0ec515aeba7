"""bcrypt hashes salted from the estate's marker key. Pure.

A bcrypt hash is salted, so hashing afresh on every run would change the users file (and make
the engine reload it, and the deploy say "changed") on every deploy. Deriving the salt from the
estate's marker key keeps the file stable for a stable password and unpredictable to anyone
without the key. Used by the OpenSearch security plugin's ``internal_users.yml``
(esdr.security.opensearch_users) and Elasticsearch's file realm (esdr.gateway.cluster_user).
"""

from __future__ import annotations

import hashlib
import hmac

import bcrypt

_BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def keyed_salt(marker_key: bytes, context: str, prefix: str, cost: int) -> bytes:
    """``$<prefix>$<cost>$`` and 22 salt characters, from an HMAC of ``context`` under the key
    (each caller's context keeps its salts apart from the others')."""
    digest = hmac.new(marker_key, context.encode(), hashlib.sha256).digest()
    # 22 characters of bcrypt's base64 carry the 128-bit salt; the last one only 4 bits of it
    text = "".join(_BCRYPT_ALPHABET[b % 64] for b in digest[:21])
    text += _BCRYPT_ALPHABET[(digest[21] % 4) * 16]
    return f"${prefix}${cost:02d}${text}".encode()


def keyed_hash(password: str, marker_key: bytes, context: str, prefix: str, cost: int) -> str:
    """The one call into the bcrypt library: ``password`` hashed with ``keyed_salt``, as
    modular crypt text."""
    return bcrypt.hashpw(password.encode(), keyed_salt(marker_key, context, prefix, cost)).decode()
