"""Secure by default: TLS on transport and HTTP, authentication, secrets that never leak.

- ``refs``: secrets by reference (``{"env": ...}`` / ``{"file": ...}``), resolved on the controller.
- ``store``: the controller-side secrets directory (CA, node certificates), 0700/0600.
- ``sans``: what a node certificate must name and when to reissue it (pure).
- ``certs``: issuing and reading certificates with ``cryptography``.
- ``config``: what the model says about security: node paths, elasticsearch.yml settings.

The security problems ``esdr validate`` reports are in ``esdr.checks.security``.
"""
