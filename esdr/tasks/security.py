"""Security phase: the node's TLS files, the elastic password in the keystore, the deploy's
own credentials for API calls on the node. Runs after the keystore exists, before the start."""

from __future__ import annotations

import sys
from io import StringIO

from pyinfra.api import deploy
from pyinfra.facts.files import File
from pyinfra.operations import files

from esdr import layout
from esdr.gateway import cluster_user
from esdr.model import Node, Topology
from esdr.operations import keystore, secret_files
from esdr.render import install_link
from esdr.security import certs, config, opensearch_users, store
from esdr.security.refs import Secret, resolve_setting
from esdr.facts.elasticsearch import EsdrMarker
from esdr.tasks import known
from esdr.tasks.context import run_context, staged_secrets
from esdr.tasks.material import Material

BOOTSTRAP_PASSWORD = "bootstrap.password"


def prepared(topology: Topology) -> Material:
    """Certificates (reused, or issued in memory) and the resolved passwords, once per run.

    Issued while operations are being prepared, so ``--dry`` shows the reissue's file changes;
    the controller's secrets directory is written only by ``secrets_stored``, when the deploy
    executes.
    """
    made = run_context().material
    name = topology.cluster.name
    if name not in made:
        made[name] = _material(topology, staged_secrets(name))
        for cert in made[name].certificates.nodes.values():
            if cert.issued:
                # stderr: stdout is pyinfra's --json document
                print(f"[esdr] certificate for {cert.node} issued: {cert.issued}", file=sys.stderr)
    return made[name]


def _material(topology: Topology, staged: store.Staged | None = None) -> Material:
    """``staged``: the run's staging for the cluster's secrets directory (a new one if None)."""
    cluster = topology.cluster
    staged = store.Staged() if staged is None else staged
    _, password_key = config.superuser(cluster)
    admin_cert = replication = None
    if cluster.engine.name == "opensearch":
        cert_pem, key_pem, issued = certs.ensure_admin_certificate(topology, staged=staged)
        admin_cert = (cert_pem, key_pem)
        if issued:
            print(f"[esdr] admin certificate issued: {issued}", file=sys.stderr)
        if cluster["es_replication_password"] is not None:
            replication = resolve_setting(
                cluster["es_replication_password"],
                f"es_replication_password of {cluster.name}",
            )
    certificates = certs.ensure_certificates(topology, staged=staged)
    directory = store.secrets_dir(cluster)
    # the gateway's own user, on both engines: the estate's password, generated once (both DCs
    # share the directory, so the password)
    gateway = Secret(store.generated_password(directory, cluster_user.PASSWORD_FILE, staged))
    return Material(
        certificates,
        resolve_setting(cluster[password_key], f"{password_key} of {cluster.name}"),
        store.marker_key(directory, staged),
        admin_cert,
        replication,
        gateway,
        staged,
    )


@deploy("Security")
def secure_node(topology: Topology, node: Node):
    """Returns the operations whose change means the running node must restart."""
    cluster = topology.cluster
    if not config.enabled(cluster):
        return []
    material = prepared(topology)
    cert = material.certificates.nodes[node.name]
    user = cluster["es_user"]
    paths = config.node_paths(cluster)
    secret_files.secrets_stored(
        name="Issued certificates and keys kept in the controller's secrets directory",
        directory=str(material.certificates.directory),
        staged=material.staged,
        _run_once=True,
    )
    known.directory("Directory /etc/esdr (root only)", config.ESDR_ETC, "root", "root",
                    layout.ESDR_ETC_MODE)
    known.directory(f"Directory {paths.certs_dir}", paths.certs_dir, "root", user,
                    layout.CERTS_DIR_MODE)
    tls_mode = layout.NODE_TLS_FILE_MODE
    changed = [
        # During a CA rotation, a bundle of the old and the new CA (esdr certs rotate-ca)
        known.put("Estate CA certificate", material.certificates.ca_pem.decode(), paths.ca_cert,
                  "root", user, tls_mode),
        known.put("Node certificate", cert.cert_pem.decode(), paths.node_cert, "root", user,
                  tls_mode),
        known.secret_file("Node private key", paths.node_key, Secret(cert.key_pem.decode()),
                          "root", user, tls_mode),
    ]
    if cluster.engine.name == "elasticsearch":
        # Not a restart reason: Elasticsearch reads bootstrap.password only while the .security
        # index holds no elastic password, i.e. before the cluster's first start, so a running
        # node has no use for a new one (esdr secrets rotate-elastic changes it through the API:
        # https://www.elastic.co/guide/en/elasticsearch/reference/current/built-in-users.html).
        bootstrap_password(topology, material)
        # Not a restart reason either: the file realm and roles store reload their files.
        gateway_user(topology, material)
    user, _ = config.superuser(cluster)
    # Not a restart reason: only the deploy's own curl calls read it.
    known.secret_file(
        "Credentials for the deploy's API calls",
        config.CURL_CONFIG,
        Secret(
            config.curl_config(
                material.password.reveal(),
                paths.ca_cert,
                salt=config.marker(material.marker_key, "curlrc-salt", node.name),
                user=user,
            )
        ),
        "root",
        "root",
        layout.CURL_CONFIG_MODE,
    )
    return changed


def bootstrap_password(topology: Topology, material: Material):
    """Elasticsearch: the elastic user's first password, from the keystore. Left out when
    read done while preparing (its marker and the keystore); written anew, keystore and all,
    when the keystore is not there (``configure`` leaves its creation to this run)."""
    cluster = topology.cluster
    entry = keystore.KeystoreEntry(
        material.password,
        config.marker(material.marker_key, f"keystore:{BOOTSTRAP_PASSWORD}",
                      material.password.reveal()),
    )
    has_keystore = known.shows(File, path=layout.keystore(topology.cluster).path)
    if has_keystore and known.known(EsdrMarker, path=keystore.marker_path(
            BOOTSTRAP_PASSWORD)) == entry.marker:
        return known.UNCHANGED
    return keystore.keystore_entries(
        name=f"Keystore {BOOTSTRAP_PASSWORD}",
        entries={BOOTSTRAP_PASSWORD: entry},
        install_dir=install_link(cluster),
        conf_dir=cluster["es_conf_dir"],
        group=cluster["es_user"],
        java_home=cluster["es_java_home"],
        rewrite=not has_keystore,
    )


def gateway_user(topology: Topology, material: Material) -> list:
    """Elasticsearch: the INFINI Gateway's own user (``esdr_gateway``, cluster privilege
    ``monitor`` only) in the file realm: ``roles.yml``, ``users`` (a bcrypt hash, salted from
    the estate key so the same password writes the same file) and ``users_roles`` in the
    config directory. Elasticsearch watches them and reloads them without a restart."""
    cluster = topology.cluster
    assert material.gateway_password is not None
    paths = cluster_user.FileRealmPaths(str(cluster["es_conf_dir"]))
    group = cluster["es_user"]
    hashed = cluster_user.password_hash(material.gateway_password.reveal(),
                                        material.marker_key)
    return [
        known.put("File realm roles (the gateway's role)", cluster_user.roles_yml(), paths.roles,
                  "root", group, layout.FILE_REALM_MODE),
        known.secret_file("File realm users (the gateway's user, a bcrypt hash)", paths.users,
                          Secret(cluster_user.users_file(hashed)), "root", group,
                          layout.FILE_REALM_MODE),
        known.put("File realm user roles", cluster_user.users_roles_file(), paths.users_roles,
                  "root", group, layout.FILE_REALM_MODE),
    ]


@deploy("OpenSearch security configuration")
def opensearch_security_config(topology: Topology, node: Node):
    """The security plugin's users and role mappings, and the admin certificate that loads
    them. Returns the operations whose change means the cluster must reload them."""
    cluster = topology.cluster
    if cluster.engine.name != "opensearch" or not config.enabled(cluster):
        return []
    material = prepared(topology)
    assert material.admin_cert is not None
    admin_cert, admin_key = material.admin_cert
    cert_file, key_file, _, _ = layout.opensearch_security(topology.cluster)
    files.put(
        name="Admin certificate (securityadmin only)",
        src=StringIO(admin_cert.decode()),
        dest=cert_file.path,
        user=cert_file.user,
        group=cert_file.group,
        mode=cert_file.mode,
    )
    secret_files.secret_file(
        name="Admin private key (securityadmin only)",
        dest=key_file.path,
        content=Secret(admin_key.decode()),
        user=key_file.user,
        group=key_file.group,
        mode=key_file.mode,
    )
    return security_plugin_files(topology, material)


def security_plugin_files(topology: Topology, material: Material) -> list:
    """OpenSearch: the users (the admin, the replication user, the gateway's own user) and
    role mappings esdr owns in ``opensearch-security/``, and the gateway's role in the plugin's
    ``roles.yml``. Every hash is salted from the estate key, so a rerun writes the same bytes
    and ``securityadmin`` (``_if`` these changed) does not run."""
    cluster = topology.cluster
    directory = f"{cluster['es_conf_dir']}/{config.SECURITY_CONFIG_SUBDIR}"
    *_, users_file, mapping_file = layout.opensearch_security(cluster)
    hashes = {
        name: opensearch_users.password_hash(secret.reveal(), material.marker_key, name)
        for name, secret in ((config.OPENSEARCH_ADMIN_USER, material.password),
                             (config.REPLICATION_USER, material.replication_password))
        if secret is not None
    }
    # The gateway's own user (esdr.gateway.cluster_user): hashed as the others, its role
    # (cluster_monitor only) kept in the plugin's roles.yml, mapped to it in roles_mapping.yml.
    assert material.gateway_password is not None
    gateway_hash = opensearch_users.password_hash(
        material.gateway_password.reveal(), material.marker_key, cluster_user.GATEWAY_USER)
    users = opensearch_users.internal_users_yml(
        hashes[config.OPENSEARCH_ADMIN_USER], hashes.get(config.REPLICATION_USER),
        (cluster_user.GATEWAY_USER, gateway_hash))
    mapping = opensearch_users.roles_mapping_yml(
        config.REPLICATION_USER in hashes, (cluster_user.GATEWAY_ROLE, cluster_user.GATEWAY_USER))
    return [
        # The rest of roles.yml is the plugin's (opensearch_users says why): one marked block,
        # a no-op once there, so a rerun loads nothing.
        files.block(
            name="Security plugin roles: the gateway's role (esdr_gateway, cluster_monitor)",
            path=f"{directory}/roles.yml",
            content=opensearch_users.gateway_role_block(cluster_user.GATEWAY_ROLE),
            marker=opensearch_users.GATEWAY_ROLE_MARKER,
        ),
        secret_files.secret_file(
            name="Security plugin users (bcrypt hashes)",
            dest=users_file.path,
            content=Secret(users),
            user=users_file.user,
            group=users_file.group,
            mode=users_file.mode,
        ),
        files.put(
            name="Security plugin role mappings",
            src=StringIO(mapping),
            dest=mapping_file.path,
            user=mapping_file.user,
            group=mapping_file.group,
            mode=mapping_file.mode,
        ),
    ]
