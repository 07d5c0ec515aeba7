"""One typed load of everything a user writes: inventory hosts and their data, group data, the
estate and the gateway settings. Pure: plain data in, ``Problem``s out.

The loaders (``esdr.project``) run ``check_input`` before any model is built, so a wrong type,
an unknown key or group, a host listed twice with different data, a control character or a name
that cannot be a file or node name is refused with one line naming the host, file and key, and
never reaches the checks, the rendering or a host. The shapes are pydantic models in strict mode
(no coercion: ``"9200"`` is not a port, ``"data"`` is not a list of roles,
https://docs.pydantic.dev/latest/concepts/strict_mode/). They only check: the models are still
built from the data as written, so what renders is unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from esdr.crossdc.estate import (
    INDEX_NAME_RULE,
    address_problem,
    cron_problem,
    index_name_problem,
)
from esdr.host_tuning import DEFAULT_TCP_RETRIES2, MAX_TCP_RETRIES2, MIN_TCP_RETRIES2
from esdr.gateway.model import GATEWAY_GROUP, LB_GROUP, TIER_DEFAULTS
from esdr.model import (
    CLUSTER_DEFAULTS,
    HOST_KEYS,
    ROLE_GROUPS,
    HostSpec,
    flat_settings,
    yml_value_problem,
)
from esdr.problems import Problem

# Groups esdr gives a meaning to; any other group with these prefixes is a typo whose hosts
# would silently drop out of the cluster or the tier.
GATEWAY_GROUPS = frozenset({GATEWAY_GROUP, LB_GROUP})
_OWNED_GROUP_PREFIXES = ("es_", "gateway")

# C0 and C1 control characters and DEL: a newline in a value starts a new line in every file
# format esdr writes (elasticsearch.yml, systemd units, jvm.options, keepalived, nginx). The
# Unicode line and paragraph separators too: YAML 1.1 reads them (and U+0085, a C1 character)
# as line breaks (https://yaml.org/spec/1.1/#id868524), so elasticsearch.yml would.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Host, node, cluster and user names become file and directory names (`esdr render`, the
# certificate store) and node names: ASCII letters, digits, '.', '-', '_', as a DNS name
# (RFC 1123: at most 253 characters), starting with a letter or digit so '.' and '..' cannot be
# one.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
# Linux interface names: at most 15 characters (IFNAMSIZ - 1), no '/' or whitespace.
_IFNAME = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")
MAX_TEXT = 4096


def _text(value: str) -> str:
    if _CONTROL.search(value):
        raise PydanticCustomError(
            "control_character",
            "has a control character (a newline, tab, ...): write it on one line",
        )
    if len(value) > MAX_TEXT:
        raise PydanticCustomError("too_long", f"is longer than {MAX_TEXT} characters")
    return value


def _name(value: str) -> str:
    _text(value)
    if not _NAME.match(value):
        raise PydanticCustomError(
            "bad_name",
            "is not a usable name: 1-253 ASCII letters, digits, '.', '-' or '_', starting with a "
            "letter or digit (it names files and nodes)",
        )
    return value


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise PydanticCustomError(
            "bad_name", "is not an environment variable name (letters, digits, '_')"
        )
    return value


def _ifname(value: str) -> str:
    if not _IFNAME.match(value):
        raise PydanticCustomError(
            "bad_name", "is not a network interface name (at most 15 of A-Z a-z 0-9 _ . : -)"
        )
    return value


def _absolute(value: str) -> str:
    _text(value)
    path = PurePosixPath(value)
    if not path.is_absolute() or ".." in path.parts:
        raise PydanticCustomError("bad_path", "must be an absolute path without '..'")
    return value


def _relative(value: str) -> str:
    _text(value)
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or path.suffix != ".py":
        raise PydanticCustomError(
            "bad_path", "must be an inventory file inside the project, e.g. inventories/dc2.py"
        )
    return value


def _plain(value: Any) -> Any:
    """Nested settings (es_settings, repository settings, SLM config): string keys, and no
    control character in any key or string value."""
    _walk(value, "")
    return value


def _walk(value: Any, path: str) -> None:
    at = f" at {path}" if path else ""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise PydanticCustomError(
                    "key_type", "has a key that is not a string ({kind}){at}",
                    {"kind": type(key).__name__, "at": at},
                )
            _walk(key, path)
            _walk(item, f"{path}.{key}" if path else key)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]")
    elif isinstance(value, str) and _CONTROL.search(value):
        raise PydanticCustomError(
            "control_character",
            "has a control character (a newline, tab, ...){at}: write it on one line",
            {"at": _ascii(_cut(at))},
        )


def _node_settings(value: Any) -> Any:
    """es_settings: what elasticsearch.yml (opensearch.yml) reads back as the user wrote it.

    Keys are dotted names without blanks (``"http.port "`` would be a second key beside the
    ``http.port`` esdr writes), each set once (``{"indices.q": 1, "indices": {"q": 2}}`` writes
    ``indices.q`` twice, and the engine refuses a duplicate key); values are strings, numbers,
    booleans or lists of them, never None, NaN or infinity (which would be written as the words
    None and nan), nor ``${...}``: the engine replaces that with an environment variable of its
    own when it starts ("Environment variable substitution",
    https://www.elastic.co/guide/en/elasticsearch/reference/current/settings.html).
    """
    _plain(value)
    _settings_keys(value, "")
    keys = [key for key, _ in flat_settings(value)]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise PydanticCustomError(
            "duplicate_key",
            "sets {key} twice (once as a dotted key, once nested): keep one",
            {"key": _ascii(_cut(twice[0]))},
        )
    for key, item in flat_settings(value):
        for one in item if isinstance(item, (list, tuple)) else [item]:
            problem = yml_value_problem(one)
            if problem:
                raise PydanticCustomError(
                    "placeholder" if "${" in str(one) else "bad_value",
                    "{key} {problem}", {"key": _ascii(_cut(key)), "problem": problem},
                )
    return value


def _settings_keys(value: Any, path: str) -> None:
    if not isinstance(value, Mapping):
        return
    for key, item in value.items():
        full = f"{path}.{key}" if path else str(key)
        if any(part == "" or part != "".join(part.split()) for part in str(key).split(".")):
            raise PydanticCustomError(
                "bad_settings_key",
                "key {key} has a blank or an empty part: write it as dotted words, e.g. "
                "http.port",
                {"key": _ascii(repr(_cut(full)))},
            )
        _settings_keys(item, full)


def _index_name(value: str, *, pattern: bool = False, alias: bool = False) -> str:
    _text(value)
    problem = index_name_problem(value, pattern=pattern)
    if problem:
        what = "an index pattern" if pattern else "an alias" if alias else "an index name"
        raise PydanticCustomError(
            "bad_index_name",
            "{value} is not {what}: it {problem}; the engines take names {rule} (Elastic's "
            "create index API: https://www.elastic.co/guide/en/elasticsearch/reference/current/"
            "indices-create-index.html#indices-create-api-path-params)",
            {"value": _ascii(repr(_cut(value))), "what": what, "problem": problem,
             "rule": INDEX_NAME_RULE + (" ('*' allowed)" if pattern else "")},
        )
    return value


def _alias_name(value: str) -> str:
    _name(value)
    return _index_name(value, alias=True)


def _address(value: str) -> str:
    _text(value)
    problem = address_problem(value)
    if problem:
        raise PydanticCustomError(
            "bad_address", "{value} {problem} (a transport address: host:port, [IPv6]:port)",
            {"value": _ascii(repr(_cut(value))), "problem": problem},
        )
    return value


def _cron(value: str) -> str:
    _text(value)
    problem = cron_problem(value)
    if problem:
        raise PydanticCustomError(
            "bad_format", "{value} is not a cron expression: it {problem} "
            "(https://www.elastic.co/guide/en/elasticsearch/reference/current/"
            "api-conventions.html#api-cron-expressions)",
            {"value": _ascii(repr(_cut(value))), "problem": problem},
        )
    return value


# es_version names the install directory and the archive: x.y.z, maybe a qualifier (-SNAPSHOT)
_VERSION = re.compile(r"^[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}(?:-[A-Za-z0-9][A-Za-z0-9.]{0,31})?$")
_SHA512 = re.compile(r"^[0-9a-fA-F]{128}$")


def _version(value: str) -> str:
    if not _VERSION.match(value):
        raise PydanticCustomError(
            "bad_format", "is not a version: write it as the engine's release names it, e.g. "
            "8.19.21 or 2.19.4",
        )
    return value


def _sha512(value: str) -> str:
    if not _SHA512.match(value):
        raise PydanticCustomError(
            "bad_format", "is not a sha512 digest: 128 hexadecimal digits, as in the .sha512 "
            "file published beside the archive",
        )
    return value


def _scalar(value: Any) -> Any:
    """One value that checks compare and count (a VRRP priority, a router id): not a list or
    a mapping."""
    if isinstance(value, (list, tuple, dict, set)):
        raise PydanticCustomError("scalar_type", "should be a single value, not a list or mapping")
    if isinstance(value, str):
        _text(value)
    return value


def _list_of_one(value: Any) -> Any:
    """Where esdr has always read a lone string as a one-item list (estate seeds, endpoints)."""
    return [value] if isinstance(value, str) else _as_list(value)


def _as_list(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


Text = Annotated[StrictStr, AfterValidator(_text)]
Name = Annotated[StrictStr, AfterValidator(_name)]
EnvName = Annotated[StrictStr, AfterValidator(_env_name)]
AbsPath = Annotated[StrictStr, AfterValidator(_absolute)]
Inventory = Annotated[StrictStr, AfterValidator(_relative)]
# an nginx time: a number and its unit, nothing a directive could continue with
Duration = Annotated[StrictStr, Field(pattern=r"^[0-9]{1,9}(ms|s|m|h|d)?$")]
Port = Annotated[StrictInt, Field(ge=1, le=65535)]
Days = Annotated[StrictInt, Field(ge=1, le=100_000)]


def _tcp_retries2(value: int | None) -> int | None:
    if value is not None and not MIN_TCP_RETRIES2 <= value <= MAX_TCP_RETRIES2:
        raise PydanticCustomError(
            "tcp_retries2_range",
            f"is {value}: use {MIN_TCP_RETRIES2}-{MAX_TCP_RETRIES2} (Elastic recommends "
            f"{DEFAULT_TCP_RETRIES2}; fewer drops healthy connections on a short network blip, "
            "the kernel's 15 holds a dead peer's connections for about 15 minutes), or None to "
            "leave the host's value alone",
        )
    return value


TcpRetries2 = Annotated[StrictInt | None, AfterValidator(_tcp_retries2)]
Plain = Annotated[Any, AfterValidator(_plain)]
Scalar = Annotated[Any, AfterValidator(_scalar)]
Settings = Annotated[dict[Text, Any], AfterValidator(_plain)]
NodeSettings = Annotated[dict[Text, Any], AfterValidator(_node_settings)]
IndexName = Annotated[StrictStr, AfterValidator(_index_name)]
IndexPattern = Annotated[StrictStr, AfterValidator(lambda v: _index_name(v, pattern=True))]
AliasName = Annotated[StrictStr, AfterValidator(_alias_name)]
Address = Annotated[StrictStr, AfterValidator(_address)]
Addresses = Annotated[list[Address], BeforeValidator(_list_of_one)]
IndexPatterns = Annotated[list[IndexPattern], BeforeValidator(_list_of_one)]
Cron = Annotated[StrictStr, AfterValidator(_cron)]
Version = Annotated[StrictStr, AfterValidator(_version)]
Sha512 = Annotated[StrictStr, AfterValidator(_sha512)]
# Elastic's time units (https://www.elastic.co/guide/en/elasticsearch/reference/current/api-conventions.html#time-units)
TimeValue = Annotated[StrictStr, Field(pattern=r"^[0-9]{1,9}(d|h|m|s|ms|micros|nanos)$")]
# A Python inventory may write a list as a tuple; a string is never a list of strings.
Texts = Annotated[list[Text], BeforeValidator(_as_list)]
Names = Annotated[list[Name], BeforeValidator(_as_list)]
TextOrTexts = Annotated[list[Text], BeforeValidator(_list_of_one)]


class _Shape(BaseModel):
    """A mapping esdr reads whole: every key is known."""

    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)


class _Open(BaseModel):
    """Host data: pyinfra's and the user's own keys sit beside esdr's (unknown ``es_*`` keys
    are reported by the topology checks, ``unknown-setting``)."""

    model_config = ConfigDict(strict=True, extra="allow")


class NodeData(_Open):
    """One host's merged data as the cluster reads it: host keys and cluster-wide ``es_*``."""

    zone: Text | None = None
    ssh_hostname: Text | None = None  # the node's address unless es_network_host says otherwise
    es_heap: Text | None = None
    es_node_name: Name | None = None
    es_network_host: Text | None = None
    es_roles: Texts | None = None
    ram: Text | None = None
    es_cert_sans: Texts | None = None
    es_cluster_name: Name | None = None
    es_engine: Text | None = None
    es_version: Version | None = None  # part of the install path on every host
    es_archive_url: Text | None = None
    es_archive_sha512: Sha512 | None = None
    es_archive_local: Text | None = None
    es_java_home: AbsPath | None = None
    es_http_port: Port = 9200
    es_transport_port: Port = 9300
    es_awareness_attribute: Name = "zone"
    es_forced_awareness: StrictBool = True
    es_forced_awareness_values: Texts | None = None
    es_data_zones: Texts | None = None
    es_index_replicas: Plain = 1  # any type: `replicas-invalid` says what is wrong
    es_path_repo: Texts | None = None
    es_settings: NodeSettings | None = None
    es_install_root: AbsPath | None = None
    es_conf_dir: AbsPath | None = None
    es_data_dir: AbsPath | None = None
    es_log_dir: AbsPath | None = None
    es_user: Name | None = None
    es_lab: StrictBool = False
    es_restart_timeout: Annotated[float, Field(strict=True, gt=0, le=86_400)] = 300
    es_service_environment: dict[EnvName, Text] | None = None
    es_estate: dict[Any, Any] | None = None  # its own shape: ``Estate`` below
    es_security: StrictBool = True
    es_elastic_password: Plain = None  # references: the security checks read them
    es_admin_password: Plain = None
    es_replication_password: Plain = None
    es_plugins: list[Settings] | None = None
    es_secrets_dir: Text | None = None
    es_ca: dict[Text, Text] | None = None
    es_cert_days: Days = 730
    es_ca_days: Days = 3650
    es_cert_renew_days: Annotated[StrictInt, Field(ge=0, le=100_000)] = 30
    es_fault_detection: Text = "default"  # `fault-detection-profile-unknown` names the profiles
    es_replication_poll_interval: Text | None = None  # `replication-poll-interval-invalid`
    tcp_retries2: TcpRetries2 = DEFAULT_TCP_RETRIES2
    # `esdr status` thresholds (docs/status.md); defaults as esdr.status.report.DEFAULTS.
    # Seconds from the command's start to its answer, all DCs read at once: a DC silent that
    # long is CRITICAL.
    status_timeout: Annotated[float, Field(strict=True, gt=0, le=60)] = 2.2
    # WARNING when an SLM policy's last success is older than this many schedule periods.
    status_snapshot_age_factor: Annotated[float, Field(strict=True, gt=0, le=1000)] = 2.0
    # WARNING when the nearest certificate (CA included) expires within this many days;
    # None: the renewal window, es_cert_renew_days. CRITICAL within status_cert_critical_days.
    status_cert_warn_days: Annotated[StrictInt, Field(ge=0, le=100_000)] | None = None
    status_cert_critical_days: Annotated[StrictInt, Field(ge=0, le=100_000)] = 7
    # A follower's lag in seconds (or its bound: the time since last seen in sync) above these.
    status_lag_warn_seconds: Annotated[StrictInt, Field(ge=0)] = 300
    status_lag_critical_seconds: Annotated[StrictInt, Field(ge=0)] = 3600
    # An MQ pipeline's consumer group (docs/kafka-dual-write.md): the age in seconds of the
    # oldest message it has not consumed (or its bound) above these; docs/status.md.
    status_pipeline_lag_warn_seconds: Annotated[StrictInt, Field(ge=0)] = 300
    status_pipeline_lag_critical_seconds: Annotated[StrictInt, Field(ge=0)] = 3600


class GatewayCluster(_Shape):
    name: Name | None = None  # names its queue and password variable
    endpoints: TextOrTexts | None = None
    username: Text | None = None
    password: Plain = None  # a reference; ``password-not-a-reference`` says what is wrong
    version: Name | None = None  # pinned: the gateway starts while the cluster is down
    distribution: Literal["elasticsearch", "opensearch"] | None = None


class Vip(_Shape):
    address: Text | None = None
    virtual_router_id: Scalar = None  # `virtual-router-id-invalid` says what is wrong
    priorities: dict[Name, Scalar] | None = None  # `priority-invalid` says what is wrong


class FrontDoor(_Shape):
    kind: Text | None = None
    vips: list[Vip] | None = None
    # keepalived
    interface: Annotated[StrictStr, AfterValidator(_ifname)] | None = None
    nopreempt: StrictBool | None = None
    unicast: StrictBool | None = None
    advert_int: Annotated[StrictInt, Field(ge=1, le=255)] | None = None
    check: Text | None = None
    check_interval: Annotated[StrictInt, Field(ge=1, le=3600)] | None = None
    check_timeout: Annotated[StrictInt, Field(ge=1, le=3600)] | None = None
    check_fall: Annotated[StrictInt, Field(ge=1, le=1000)] | None = None
    check_rise: Annotated[StrictInt, Field(ge=1, le=1000)] | None = None
    # nginx
    listen_port: Port | None = None
    max_fails: Annotated[StrictInt, Field(ge=0, le=1000)] | None = None
    fail_timeout: Duration | None = None
    hash_by_index: StrictBool | None = None
    upstreams: Names | None = None
    backup: Names | None = None


class ReadRule(_Shape):
    method: Texts
    pattern: Texts


class GatewayData(_Open):
    """One gateway (or nginx) host's merged data as the tier reads it."""

    gateway_address: Text | None = None
    ssh_hostname: Text | None = None  # the address unless gateway_address says otherwise
    gateway_clusters: dict[Text, GatewayCluster] | None = None
    gateway_front_door: FrontDoor | None = None
    gateway_version: Name | None = None
    gateway_archive_url: Text | None = None
    gateway_archive_local: Text | None = None
    gateway_archive_sha256: Text | None = None
    gateway_archive_sha512: Text | None = None
    gateway_listen_address: Text | None = None
    gateway_api_listen_address: Text | None = None
    gateway_binary: Name | None = None
    gateway_entry_port: Port = 8000
    gateway_api_port: Port = 2900
    gateway_api_transport: Literal["ssh", "direct"] | None = None
    gateway_user: Name | None = None
    gateway_install_root: AbsPath | None = None
    gateway_conf_dir: AbsPath | None = None
    gateway_data_dir: AbsPath | None = None
    gateway_log_dir: AbsPath | None = None
    gateway_read_rules: list[ReadRule] | None = None
    tcp_retries2: TcpRetries2 = DEFAULT_TCP_RETRIES2


class EstateCluster(_Shape):
    cluster_name: Name | None = None  # required: the estate parser says so (`needs`)
    inventory: Inventory | None = None  # loaded (run) by validate, plan, promote, failback
    seeds: Addresses | None = None
    proxy_address: Address | None = None


class EstateLink(_Shape):
    from_: Name | None = Field(None, alias="from")
    to: Name | None = None
    mode: Text | None = None
    seeds: Addresses | None = None
    proxy_address: Address | None = None
    skip_unavailable: StrictBool | None = None


class EstateRepository(_Shape):
    type: Text | None = None
    settings: Settings | None = None
    writer: Name | None = None
    readers: Annotated[list[Name], BeforeValidator(_list_of_one)] | None = None


class EstateRetention(_Shape):
    """SLM retention: Elastic refuses a count below 1 and a minimum above the maximum
    (https://www.elastic.co/guide/en/elasticsearch/reference/current/slm-api-put-policy.html)."""

    expire_after: TimeValue | None = None
    min_count: Annotated[StrictInt, Field(ge=1)] | None = None
    max_count: Annotated[StrictInt, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _min_below_max(self) -> EstateRetention:
        if self.min_count and self.max_count and self.min_count > self.max_count:
            raise PydanticCustomError(
                "count_order", "min_count {low} is above max_count {high}: lower min_count",
                {"low": self.min_count, "high": self.max_count},
            )
        return self


class EstateSlm(_Shape):
    cluster: Name | None = None
    schedule: Cron | None = None
    name: Text | None = None
    repository: Name | None = None
    config: Settings | None = None
    retention: EstateRetention | None = None


class EstateFollower(_Shape):
    cluster: Name | None = None
    index: IndexName | None = None
    remote: Name | None = None
    leader_index: IndexName | None = None
    write_alias: AliasName | None = None


class EstateAutoFollow(_Shape):
    cluster: Name | None = None
    remote: Name | None = None
    leader_index_patterns: IndexPatterns | None = None
    leader_index_exclusion_patterns: IndexPatterns | None = None
    follow_index_pattern: IndexName | None = None


class Estate(_Shape):
    source: Text | None = Field(None, alias="_source")
    clusters: dict[Name, EstateCluster] | None = None
    links: list[EstateLink] | None = None
    repositories: dict[Name, EstateRepository] | None = None
    slm: dict[Name, EstateSlm] | None = None
    followers: list[EstateFollower] | None = None
    auto_follow: dict[Name, EstateAutoFollow] | None = None
    bidirectional: dict[AliasName, dict[Name, IndexName]] | None = None
    licence: Text | None = None
    license: Text | None = None
    # Kafka dual-write (docs/kafka-dual-write.md): its own strict model, esdr.kafka.model,
    # parsed and validated by the deploy's preflight before any host is touched
    kafka: dict[Name, Any] | None = None


# pydantic error types -> rule ids (the rest are a wrong type)
_RULES = {
    "missing": "input-missing-key",
    "extra_forbidden": "input-unknown-key",
    "control_character": "input-control-character",
    "bad_name": "input-bad-name",
    "bad_path": "input-bad-path",
    "too_long": "input-too-long",
    "string_too_long": "input-too-long",
    "string_pattern_mismatch": "input-bad-format",
    "bad_format": "input-bad-format",
    "bad_index_name": "input-bad-index-name",
    "bad_address": "input-bad-address",
    "bad_settings_key": "input-bad-settings-key",
    "duplicate_key": "input-duplicate-key",
    "bad_value": "input-bad-value",
    "placeholder": "input-placeholder",
    "count_order": "input-out-of-range",
}
_RANGE = ("greater_than", "less_than", "greater_than_equal", "less_than_equal")


def _problems(error: ValidationError, where: str) -> list[tuple[str, Problem]]:
    """(top-level key, problem) per error, naming where and the dotted key. The value itself is
    never shown (it may be a secret), only its type."""
    out = []
    for item in error.errors(include_url=False):
        loc = [_ascii(_cut(str(part))) for part in item["loc"] if part != "[key]"]
        key = ".".join(loc) or "the file"
        kind = item["type"]
        rule = _RULES.get(kind, "input-out-of-range" if kind in _RANGE else "input-wrong-type")
        message = str(item["msg"]).removeprefix("Input ")
        if rule == "input-wrong-type" and kind != "key_type":
            message += f", not {type(item.get('input')).__name__}"
        if kind == "invalid_key":
            message = ("has a key that is not a string (YAML reads a bare `on:`, `yes:` or a "
                       "number as one): quote it")
        elif rule == "input-unknown-key":
            message = "is not a key esdr knows here (typo?)"
        elif rule == "input-missing-key":
            message = "is missing"
        out.append((loc[0] if loc else "", Problem(where, rule, f"{key}: {message}")))
    return out


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check(model: type[BaseModel], data: Any, where: str) -> list[tuple[str, Problem]]:
    try:
        model.model_validate(data)
    except ValidationError as error:
        return _problems(error, where)
    return []


def _ascii(text: str) -> str:
    """A user's string as it may appear in a one-line message."""
    return text if text.isascii() and not _CONTROL.search(text) else ascii(text)


def _host_name(spec: HostSpec) -> list[Problem]:
    try:
        _name(spec.name) if isinstance(spec.name, str) else None
    except PydanticCustomError as error:
        return [Problem(f"host {_ascii(_cut(spec.name))}", "input-bad-name",
                        f"the host name {error.message()}: rename it in the inventory")]
    return []


def check_hosts(specs: Sequence[HostSpec], source: str = "") -> list[Problem]:
    """Every host of the cluster and the gateway tier: its name and its typed data.

    A cluster-wide key set wrong in group data is wrong on every host: it is reported once, for
    the group data, not once per host.
    """
    out: list[Problem] = []
    where_group = f"group data of {source or 'the inventory'}"
    for spec in specs:
        es = any(g in ROLE_GROUPS for g in spec.groups) or "es_roles" in spec.data
        gateway = any(g in GATEWAY_GROUPS for g in spec.groups)
        if not (es or gateway):
            continue
        here = f"host {_ascii(_cut(spec.name))}"
        out += _host_name(spec)
        if es:
            for key, problem in _check(NodeData, spec.data, here):
                shared = key not in HOST_KEYS and key in CLUSTER_DEFAULTS
                out.append(Problem(where_group, problem.rule, problem.message) if shared
                           else problem)
            estate = spec.data.get("es_estate")
            if isinstance(estate, Mapping):
                out += check_estate(estate)
        if gateway:
            for key, problem in _check(GatewayData, spec.data, here):
                out.append(Problem(where_group, problem.rule, problem.message)
                           if key not in ("gateway_address", "ssh_hostname") else problem)
            out += _unknown_gateway_keys(spec, where_group)
    return list(dict.fromkeys(out))


def _unknown_gateway_keys(spec: HostSpec, where: str) -> list[Problem]:
    known = set(TIER_DEFAULTS) | {"gateway_address"}
    return [
        Problem(where, "unknown-setting", f"{key} is not an esdr setting (typo?)")
        for key in sorted(k for k in spec.data if isinstance(k, str) and k.startswith("gateway_"))
        if key not in known
    ]


def check_estate(raw: Mapping[Any, Any]) -> list[Problem]:
    """The estate file's shape, each problem naming the file and the dotted key."""
    source = raw.get("_source", "estate")
    return [problem for _, problem in _check(Estate, raw, f"estate {_ascii(str(source))}")]


def check_groups(groups: Iterable[str], source: str = "", file_group: str = "") -> list[Problem]:
    """An ``es_*`` or ``gateway*`` group esdr does not know is a typo: its hosts would silently
    be left out of the cluster or the tier."""
    known = set(ROLE_GROUPS) | GATEWAY_GROUPS
    # pyinfra puts every host in a group named after the inventory file: the data centre
    file_group = file_group or PurePosixPath(source).stem
    return [
        Problem(
            f"group {_ascii(_cut(group))}",
            "unknown-group",
            f"{_ascii(_cut(group))} ({source or 'inventory'}) is not an esdr group; its hosts "
            f"would be left out: use one of {', '.join(sorted(known))}",
        )
        for group in sorted(groups)
        if group.startswith(_OWNED_GROUP_PREFIXES) and group not in known and group != file_group
    ]


def check_entries(entries: Mapping[str, Sequence[tuple[str, Mapping[str, Any]]]]) -> list[Problem]:
    """A host listed in several groups must say the same in each: pyinfra merges the entries
    and the last one silently wins."""
    out: list[Problem] = []
    for host, listed in entries.items():
        for key in sorted({k for _, data in listed for k in data}, key=str):
            having = [(group, data[key]) for group, data in listed if key in data]
            if any(value != having[0][1] for _, value in having[1:]):
                groups = ", ".join(group for group, _ in having)
                out.append(
                    Problem(
                        f"host {_ascii(_cut(host))}",
                        "host-listed-twice",
                        f"{_ascii(_cut(str(key)))} differs between its entries in {groups}: give "
                        "it the same value in each, or list the data once",
                    )
                )
    return out


def check_input(
    specs: Sequence[HostSpec],
    groups: Iterable[str],
    entries: Mapping[str, Sequence[tuple[str, Mapping[str, Any]]]] | None = None,
    source: str = "",
    file_group: str = "",
) -> list[Problem]:
    """Everything the typed load refuses, before any model is built."""
    return (check_groups(groups, source, file_group) + check_entries(entries or {})
            + check_hosts(specs, source))
