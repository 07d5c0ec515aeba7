"""Settings for the whole test session.

gevent's monkey-patching comes first, as in pyinfra's own CLI: pyinfra-testing imports
``pyinfra_cli``, which patches the standard library at import, and a patch applied after
``ssl`` is in use makes urllib3 recurse in ``SSLContext`` for opensearch-py's clients
(https://github.com/gevent/gevent/issues/1016). Patched from the start, every module sees the
same ``ssl``.
"""

from gevent import monkey

monkey.patch_all()
