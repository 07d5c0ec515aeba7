"""Secure by default (issue 5): TLS on transport and HTTP, authentication, secrets that never leak.

- ``refs``: secrets by reference (``{"env": ...}`` / ``{"file": ...}``), resolved on the controller.
- ``store``: the controller-side secrets directory (CA, node certificates), 0700/0600.
- ``certs``: what to issue and when to renew (pure), and issuing it with ``cryptography``.
- ``config``: what the model says about security: node paths, elasticsearch.yml settings.
- ``validate``: the security problems ``esdr.validate.validate`` reports.
"""
