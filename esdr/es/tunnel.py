"""The controller's way to a node's HTTP API: an SSH forward through the node itself.

esdr has one transport for cluster APIs: over SSH, leaving from a node of the cluster (README,
"How the deploy reaches a cluster's API"). The controller's Python clients keep their URL
(``https://<node address>:9200``), so TLS verifies the node's certificate for its real address
exactly as a direct connection would (chain and host name: nothing is relaxed). Only the
socket under urllib3 changes: ``_new_conn`` returns one end of a local ``socketpair`` whose other
end is pumped into a paramiko ``direct-tcpip`` channel that the node's sshd opens to
``<node address>:9200`` (https://docs.paramiko.org/en/stable/api/transport.html,
``Transport.open_channel``). No port is opened on the controller, so no other local user can
borrow the forward.

One SSH connection per node, opened when its client first connects and then, in parallel, for
the other nodes of the same client (a failover then finds them ready or known down); reused by
every client of the process; closed at exit. A node whose SSH connection failed is remembered as
down for ``DOWN_FOR`` seconds: later connections fail at once with the first reason instead of
waiting again. Host keys follow pyinfra's ssh connector for the same host data: the
``ssh_known_hosts_file`` (else ~/.ssh/known_hosts) and ``ssh_strict_host_key_checking``
("yes": known keys only; "accept-new", pyinfra's default: a host never seen is added with a
warning, a changed key is refused; "no"/"off": not checked, as the lab asks). A changed key is
always refused.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import paramiko
import urllib3
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from esdr.model import SshRoute

# esdr names every refused or failed forward in its own error (ForwardDown, with the host and
# the reason); without a handler of its own, paramiko's "Secsh channel open FAILED" lines would
# reach stderr a second time through logging's last resort handler
# (https://docs.python.org/3/library/logging.html#logging.lastResort). An application that
# configures logging still gets them.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

DOWN_FOR = 30.0  # seconds a node whose SSH failed is not tried again (one command's span)
HANDSHAKE_TIMEOUT = 15.0  # SSH banner and authentication, once TCP connected
CHANNEL_TIMEOUT = 5.0  # opening a channel on a connection that is already up
_CHUNK = 65536


class ForwardDown(OSError):
    """The node cannot be reached over SSH (or refused the forward); the message says why."""


class ForwardRefused(ForwardDown):
    """The node's sshd answered but this machine may not use it: authentication failed, its host
    key is unknown or changed, the key file cannot be used, or sshd declined to open the
    forward (other than for a failed connect to the target). The host is up; a runbook that
    acts only on a lost data centre must not read this as "unreachable"."""


class _UnknownHostKey(paramiko.SSHException):
    pass


def _refused_by_the_host(error: BaseException) -> bool:
    """True when the failure came after the host answered, or from this machine's own SSH
    settings: never evidence that the host is gone."""
    return isinstance(error, (paramiko.AuthenticationException, paramiko.BadHostKeyException,
                              paramiko.PasswordRequiredException, _UnknownHostKey,
                              FileNotFoundError, PermissionError, ValueError))


def refusal_in(error: BaseException | None) -> ForwardRefused | None:
    """The ``ForwardRefused`` behind a client library's connection error, if any: the
    libraries wrap urllib3's error (elastic-transport in ``errors``, opensearch-py in ``info``)
    which carries ours as its cause."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen or not isinstance(current, BaseException):
            continue
        seen.add(id(current))
        if isinstance(current, ForwardRefused):
            return current
        todo += [current.__cause__, current.__context__, getattr(current, "info", None),
                 *getattr(current, "errors", ()), *current.args]
    return None


@dataclass(frozen=True)
class Forward:
    """Where one client's connections to one node go: the SSH route and the node's own
    ``host:port`` as the node sees it (without a route: as this machine sees it). ``group``: the routes of the client's other nodes,
    opened in parallel the first time any of them is needed."""

    route: SshRoute | None  # None: es_api_transport "direct", a TCP connection from here
    target: tuple[str, int]
    connect_timeout: float
    group: tuple[SshRoute, ...] = field(default=(), compare=False)


def _expand(path: str | None) -> str | None:
    return os.path.expanduser(path) if path else None


def _ssh_config(route: SshRoute) -> dict:
    """~/.ssh/config (or ``ssh_config_file``) for the route's host, as pyinfra reads it."""
    path = _expand(route.config_file) or os.path.expanduser("~/.ssh/config")
    if not os.path.isfile(path):
        return {}
    return paramiko.SSHConfig.from_path(path).lookup(route.hostname)


class _AcceptNew(paramiko.MissingHostKeyPolicy):
    """pyinfra's "accept-new": a host never seen is added to known_hosts, loudly."""

    _lock = threading.Lock()

    def __init__(self, known_hosts: str | None):
        self.known_hosts = known_hosts

    def missing_host_key(self, client, hostname, key):
        print(f"[esdr] warning: added the SSH host key of {hostname} to "
              f"{self.known_hosts or 'memory'} (ssh_strict_host_key_checking: accept-new)",
              file=sys.stderr, flush=True)
        if not self.known_hosts or self.known_hosts == os.devnull:
            return
        line = paramiko.hostkeys.HostKeyEntry([hostname], key).to_line()
        with self._lock, open(self.known_hosts, "a") as handle:
            handle.write(line)


class _Unchecked(paramiko.MissingHostKeyPolicy):
    """ssh_strict_host_key_checking "no": the inventory opted out (the lab, whose hosts are
    recreated from one image on a private bridge); nothing to say on every connection."""

    def missing_host_key(self, client, hostname, key):
        return None


class _Refuse(paramiko.MissingHostKeyPolicy):
    def __init__(self, setting: str, known_hosts: str | None):
        self.setting, self.known_hosts = setting, known_hosts

    def missing_host_key(self, client, hostname, key):
        raise _UnknownHostKey(
            f"no host key for {hostname} in {self.known_hosts or '~/.ssh/known_hosts'} "
            f"(ssh_strict_host_key_checking: {self.setting}); connect once with ssh or pyinfra "
            "to record it")


def host_key_policy(setting: str | None, known_hosts: str | None) -> paramiko.MissingHostKeyPolicy:
    """The policy pyinfra's ssh connector uses for the same setting; "ask" cannot ask here and
    refuses, as "yes" does."""
    value = (setting or "accept-new").lower()
    if value in ("no", "off"):
        return _Unchecked()
    if value == "accept-new":
        return _AcceptNew(known_hosts)
    return _Refuse(value, known_hosts)


def connect_kwargs(route: SshRoute, timeout: float) -> tuple[str, dict, str | None, str | None]:
    """(hostname, paramiko ``SSHClient.connect`` keywords, known_hosts file, strict setting):
    host data first, then ~/.ssh/config, then pyinfra's defaults."""
    config = _ssh_config(route)
    hostname = config.get("hostname", route.hostname)
    kwargs: dict = {
        "port": int(route.port or config.get("port", 22)),
        "timeout": timeout,  # the TCP connect: a node that is down costs this, not more
        "banner_timeout": HANDSHAKE_TIMEOUT,
        "auth_timeout": HANDSHAKE_TIMEOUT,
        "channel_timeout": HANDSHAKE_TIMEOUT,
    }
    user = route.user or config.get("user")
    if user:
        kwargs["username"] = user
    if route.password:
        kwargs["password"] = route.password
    if route.key:
        # pyinfra: an explicit ssh_key is the only identity (no agent, no default keys)
        kwargs.update(key_filename=_expand(route.key), passphrase=route.key_password,
                      allow_agent=False, look_for_keys=False)
    else:
        identity = config.get("identityfile")
        if identity:
            kwargs["key_filename"] = [os.path.expanduser(i) for i in identity]
        kwargs["allow_agent"] = route.allow_agent is not False
        kwargs["look_for_keys"] = route.look_for_keys is not False
    known = config.get("userknownhostsfile")
    known_hosts = _expand(route.known_hosts_file) or (
        os.path.expanduser(known.split()[0]) if known else None)
    strict = route.strict_host_key_checking or config.get("stricthostkeychecking")
    return hostname, kwargs, known_hosts, strict


def open_ssh(route: SshRoute, timeout: float) -> paramiko.SSHClient:
    hostname, kwargs, known_hosts, strict = connect_kwargs(route, timeout)
    client = paramiko.SSHClient()
    path = known_hosts or os.path.expanduser("~/.ssh/known_hosts")
    if os.path.isfile(path):
        client.get_host_keys().load(path)
    client.set_missing_host_key_policy(host_key_policy(strict, known_hosts or path))
    try:
        client.connect(hostname, **kwargs)
    except BaseException:
        client.close()
        raise
    transport = client.get_transport()
    if transport is not None:
        transport.set_keepalive(15)
    return client


class Tunnels:
    """The process's SSH connections to nodes, by route; thread-safe."""

    def __init__(self, opener=open_ssh):
        self._opener = opener
        self._lock = threading.Lock()
        self._clients: dict[SshRoute, paramiko.SSHClient] = {}
        self._pending: dict[SshRoute, threading.Event] = {}
        # route -> (when, reason, the error kind to raise again while it is remembered)
        self._down: dict[SshRoute, tuple[float, str, type[ForwardDown]]] = {}

    def down_reason(self, route: SshRoute) -> str | None:
        entry = self._down_entry(route)
        return entry[1] if entry else None

    def _down_entry(self, route: SshRoute) -> tuple[float, str, type[ForwardDown]] | None:
        with self._lock:
            entry = self._down.get(route)
            if entry and time.monotonic() - entry[0] < DOWN_FOR:
                return entry
            return None

    def prefetch(self, routes: Iterable[SshRoute], timeout: float) -> None:
        """Open the connections not yet open, each in its own thread (returns at once)."""
        for route in routes:
            with self._lock:
                busy = route in self._pending or self._usable(route)
            if not busy and self.down_reason(route) is None:
                threading.Thread(target=self._quietly, args=(route, timeout), daemon=True).start()

    def _quietly(self, route: SshRoute, timeout: float) -> None:
        try:
            self.client(route, timeout)
        except ForwardDown:
            pass  # remembered in _down; the connection that needs it reports it

    def _usable(self, route: SshRoute) -> bool:
        client = self._clients.get(route)
        transport = client.get_transport() if client else None
        return bool(transport and transport.is_active())

    def client(self, route: SshRoute, timeout: float) -> paramiko.SSHClient:
        """The open connection to ``route``, opening it (once, however many threads ask)."""
        while True:
            down = self._down_entry(route)
            if down is not None:
                raise down[2](down[1])
            with self._lock:
                if self._usable(route):
                    return self._clients[route]
                waiting = self._pending.get(route)
                if waiting is None:
                    self._pending[route] = threading.Event()
                    break
            waiting.wait(timeout + 2 * HANDSHAKE_TIMEOUT)
            if not waiting.is_set():
                raise ForwardDown(f"ssh {route.hostname}: still connecting")
        try:
            client = self._opener(route, timeout)
        except Exception as error:  # any reason (a bad key file too) is this node's, reported
            reason = f"ssh {route.hostname}:{route.port or 22}: {_describe(error)}"
            with self._lock:
                kind = ForwardRefused if _refused_by_the_host(error) else ForwardDown
                self._down[route] = (time.monotonic(), reason, kind)
                self._pending.pop(route).set()
            raise kind(reason) from error
        with self._lock:
            old = self._clients.get(route)
            self._clients[route] = client
            self._down.pop(route, None)
            self._pending.pop(route).set()
        if old is not None:
            old.close()
        return client

    def channel(self, forward: Forward, timeout: float) -> paramiko.Channel:
        """A ``direct-tcpip`` channel to the forward's target, opened by the node's sshd."""
        route = forward.route
        assert route is not None
        self.prefetch([r for r in forward.group if r != route], forward.connect_timeout)
        client = self.client(route, min(timeout, forward.connect_timeout))
        transport = client.get_transport()
        host, port = forward.target
        try:
            assert transport is not None
            # a live sshd answers a channel open at once; a host that went away after its
            # connection opened answers nothing, and is not worth a whole request timeout
            return transport.open_channel("direct-tcpip", (host, port), ("127.0.0.1", 0),
                                          timeout=min(timeout, max(forward.connect_timeout,
                                                                   CHANNEL_TIMEOUT)))
        except paramiko.ChannelException as error:
            # RFC 4254, section 5.1: only SSH_OPEN_CONNECT_FAILED says sshd tried the target
            # and its connection failed (OpenSSH sends it with the connect's own error, e.g.
            # refused); any other reason (1, administratively prohibited: AllowTcpForwarding
            # or PermitOpen; 4, resource shortage) is sshd declining, and says nothing of the
            # HTTP port: https://www.rfc-editor.org/rfc/rfc4254#section-5.1
            if error.code == paramiko.common.OPEN_FAILED_CONNECT_FAILED:
                raise ForwardDown(f"ssh {route.hostname}: the node could not connect to "
                                  f"{host}:{port}: {_describe(error)}") from error
            raise ForwardRefused(f"ssh {route.hostname}: its sshd refused to forward to "
                                 f"{host}:{port} ({error.code}, {error.text})") from error
        except (OSError, EOFError, AssertionError, paramiko.SSHException) as error:
            # no answer on a connection that looked open (the host went away): forget it, and
            # remember the host as down rather than wait on it again
            reason = f"ssh {route.hostname}: {_describe(error)}"
            with self._lock:
                if self._clients.get(route) is client:
                    del self._clients[route]
                self._down[route] = (time.monotonic(), reason, ForwardDown)
            client.close()
            raise ForwardDown(reason) from error

    def direct(self, forward: Forward, timeout: float) -> socket.socket:
        """es_api_transport "direct": a TCP connection from here; a target that timed out is
        remembered as down like an SSH route."""
        key = SshRoute(hostname=f"direct:{forward.target[0]}", port=forward.target[1])
        reason = self.down_reason(key)
        if reason is not None:
            raise ForwardDown(reason)
        try:
            return socket.create_connection(forward.target, timeout=timeout)
        except OSError as error:
            reason = f"{forward.target[0]}:{forward.target[1]}: {_describe(error)}"
            if "timed out" in reason:
                with self._lock:
                    self._down[key] = (time.monotonic(), reason, ForwardDown)
            raise ForwardDown(reason) from error

    def socket(self, forward: Forward, timeout: float) -> socket.socket:
        """A local socket that is the forward: what is written to it reaches the target."""
        if forward.route is None:
            return self.direct(forward, min(timeout, forward.connect_timeout))
        channel = self.channel(forward, timeout)
        mine, theirs = socket.socketpair()
        for pump in (_to_channel, _from_channel):
            threading.Thread(target=pump, args=(theirs, channel), daemon=True).start()
        return mine

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, socket.timeout) or "timed out" in text:
        return f"timed out ({text})"
    return text


def _to_channel(sock: socket.socket, channel: paramiko.Channel) -> None:
    try:
        while data := sock.recv(_CHUNK):
            channel.sendall(data)
    except (OSError, EOFError, paramiko.SSHException):
        pass
    finally:
        _close(channel)


def _close(channel: paramiko.Channel) -> None:
    """Close a pumped channel; at exit its connection may be closing under it (the atexit
    ``TUNNELS.close``), and a daemon thread's traceback then is noise on stderr, not news."""
    try:
        channel.close()
    except Exception:  # the connection is gone either way
        pass


def _from_channel(sock: socket.socket, channel: paramiko.Channel) -> None:
    try:
        while data := channel.recv(_CHUNK):
            sock.sendall(data)
    except (OSError, EOFError, paramiko.SSHException):
        pass
    finally:
        _close(channel)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


TUNNELS = Tunnels()
atexit.register(TUNNELS.close)


def _new_conn(conn) -> socket.socket:
    """urllib3's ``_new_conn`` through the forward; failures are urllib3's connection errors,
    so the client libraries report them as connection failures (unreachable), as before."""
    forward: Forward = conn._esdr_forward
    timeout = conn.timeout if isinstance(conn.timeout, (int, float)) else forward.connect_timeout
    try:
        return TUNNELS.socket(forward, float(timeout or forward.connect_timeout))
    except ForwardDown as error:
        if "timed out" in str(error):
            raise ConnectTimeoutError(conn, str(error)) from error
        raise NewConnectionError(conn, str(error)) from error


class ForwardedHTTPConnection(urllib3.connection.HTTPConnection):
    def __init__(self, *args, esdr_forward: Forward, **kwargs):
        super().__init__(*args, **kwargs)
        self._esdr_forward = esdr_forward

    _new_conn = _new_conn


class ForwardedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def __init__(self, *args, esdr_forward: Forward, **kwargs):
        super().__init__(*args, **kwargs)
        self._esdr_forward = esdr_forward

    _new_conn = _new_conn


def route_pool(pool: urllib3.HTTPConnectionPool, forward: Forward) -> None:
    """Make every new connection of ``pool`` go through ``forward``; the pool keeps the node's
    host and port, so TLS checks the certificate against the node's real address."""
    secure = isinstance(pool, urllib3.HTTPSConnectionPool)
    pool.ConnectionCls = ForwardedHTTPSConnection if secure else ForwardedHTTPConnection
    pool.conn_kw["esdr_forward"] = forward
