"""deploy/k8s/: valid Kubernetes objects (offline schemas), wired the way the platform needs.

Every container's environment is resolved from the ConfigMap and the Secret template and given to
the settings class of the process it runs, in production mode: what the manifests give is what the
processes accept.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from cryptography.fernet import Fernet

from contacts.settings import ContactsSettings
from invitations.settings import InvitationsSettings
from notifications.settings import NotificationsSettings
from portal_gateway.settings import GatewaySettings
from shared.broker_access import login_name, login_of
from shared.sealing import LinkSealer
from shared.settings import DEV_LINK_SEALING_KEY, CommonSettings, ServiceSettings

# What a server in a container listens on, so that other containers reach it.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104
K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
MANIFESTS = sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
SECRET_TEMPLATE = "secret.template.yaml"
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())

NAMEKO = ("contacts", "properties", "invitations", "notifications")
DEPLOYMENTS = {*NAMEKO, "sender", "gateway"}
IMAGE_OF = {name: f"portal/{name}" for name in NAMEKO} | {
    "sender": "portal/notifications",
    "gateway": "portal/gateway",
}
SETTINGS_OF: dict[str, type] = {
    "contacts": ContactsSettings,
    "properties": ServiceSettings,
    "invitations": InvitationsSettings,
    "notifications": NotificationsSettings,
    "sender": NotificationsSettings,
    "gateway": GatewaySettings,
}
# Read by the image's entrypoint, not by a settings class.
ENTRYPOINT_VARIABLES = {"MIGRATE_ON_START"}


def documents(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc is not None]


@pytest.fixture(scope="module")
def objects() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for name in MANIFESTS:
        for doc in documents(name):
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in found, f"{key} twice"
            found[key] = doc
    return found


@pytest.fixture(scope="module")
def config(objects) -> dict[str, str]:
    return objects[("ConfigMap", "portal-config")]["data"]


@pytest.fixture(scope="module")
def secret(objects) -> dict[str, str]:
    return objects[("Secret", "portal-secrets")]["stringData"]


def deployment(objects, name: str) -> dict[str, Any]:
    return objects[("Deployment", name)]


def pod(objects, name: str) -> dict[str, Any]:
    return deployment(objects, name)["spec"]["template"]["spec"]


def all_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def resolve_env(container: dict[str, Any], config: dict[str, str], secret: dict[str, str]) -> dict[str, str]:
    """The environment a container gets: envFrom, then env (which wins), references resolved."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert set(source) == {"configMapRef"}, "only the ConfigMap comes in whole"
        assert source["configMapRef"]["name"] == "portal-config"
        env.update(config)
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
            continue
        ref = item["valueFrom"]
        if "secretKeyRef" in ref:
            assert ref["secretKeyRef"]["name"] == "portal-secrets"
            key = ref["secretKeyRef"]["key"]
            if key not in secret and ref["secretKeyRef"].get("optional") is True:
                continue  # as Kubernetes does: an optional key the Secret lacks sets nothing
            assert key in secret, (
                f"{container['name']}: {item['name']} names secret key {key!r}, not in the template"
            )
            env[item["name"]] = secret[key]
        elif "configMapKeyRef" in ref:
            assert ref["configMapKeyRef"]["name"] == "portal-config"
            key = ref["configMapKeyRef"]["key"]
            assert key in config, (
                f"{container['name']}: {item['name']} names ConfigMap key {key!r}, not in it"
            )
            env[item["name"]] = config[key]
        else:
            raise AssertionError(f"{container['name']}: unexpected env source {ref}")
    return env


def test_every_file_parses_and_names_its_objects() -> None:
    assert MANIFESTS
    for name in [*MANIFESTS, "kustomization.yaml"]:
        docs = documents(name)
        assert docs, f"{name} is empty"
        for doc in docs:
            assert doc.get("apiVersion") and doc.get("kind"), name
            if doc["kind"] != "Kustomization":
                assert doc["metadata"]["name"], name
                if doc["kind"] != "Namespace":
                    assert doc["metadata"]["namespace"] == "portal", f"{name}: {doc['metadata']['name']}"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", MANIFESTS)
def test_every_object_is_valid_kubernetes(name: str, version: str) -> None:
    for doc in documents(name):
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_schema_check_catches_a_mistake() -> None:
    doc = documents("sender.yaml")[0]
    doc["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {"httpGet": {"path": "/", "port": 80}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBERNETES_VERSIONS[-1], strict=True)


def test_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    [kustomization] = documents("kustomization.yaml")
    assert kustomization["namespace"] == "portal"
    assert sorted(kustomization["resources"]) == sorted(set(MANIFESTS) - {SECRET_TEMPLATE})
    images = {image["name"] for image in kustomization["images"]}
    assert images == set(IMAGE_OF.values())


def test_the_deployments_are_the_platform(objects) -> None:
    assert {name for kind, name in objects if kind == "Deployment"} == DEPLOYMENTS
    for name in [*NAMEKO, "sender"]:
        assert deployment(objects, name)["spec"]["replicas"] == 2, name


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_each_deployment_selects_its_pods_and_runs_its_image(objects, name: str) -> None:
    spec = deployment(objects, name)["spec"]
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    assert labels["app.kubernetes.io/name"] == name
    for container in all_containers(spec["template"]["spec"]):
        image, _, tag = container["image"].partition(":")
        assert image == IMAGE_OF[name] and tag, container["image"]


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_each_container_has_resources_and_no_privileges(objects, name: str) -> None:
    spec = pod(objects, name)
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    for container in all_containers(spec):
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][kind]), (
                f"{name}/{container['name']} {kind}"
            )
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("name", NAMEKO)
def test_each_nameko_service_migrates_in_an_init_container(objects, name: str) -> None:
    spec = pod(objects, name)
    [init] = spec["initContainers"]
    [main] = spec["containers"]
    assert init["args"] == ["migrate"]
    assert init["image"] == main["image"]
    assert "command" not in init and "command" not in main and "args" not in main
    assert {"name": "MIGRATE_ON_START", "value": "false"} in main["env"]


def test_the_sender_is_its_own_deployment_of_the_notifications_image(objects) -> None:
    sender = pod(objects, "sender")
    [container] = sender["containers"]
    assert container["args"] == ["python", "-m", "notifications.sender"]
    assert "initContainers" not in sender
    # Longer than the 30 s an email in flight gets to finish on SIGTERM.
    assert (
        sender["terminationGracePeriodSeconds"]
        > NotificationsSettings.model_fields["smtp_timeout_seconds"].default
    )


def test_the_gateway_is_probed_served_and_exposed(objects, config: dict[str, str]) -> None:
    [container] = pod(objects, "gateway")["containers"]
    [port] = container["ports"]
    assert port == {"name": "http", "containerPort": int(config["PORT"]), "protocol": "TCP"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}

    service = objects[("Service", "gateway")]["spec"]
    selector = deployment(objects, "gateway")["spec"]["selector"]["matchLabels"]
    assert service["selector"] == selector
    assert [p["targetPort"] for p in service["ports"]] == ["http"]

    ingress = objects[("Ingress", "gateway")]["spec"]
    backends = [path["backend"]["service"] for rule in ingress["rules"] for path in rule["http"]["paths"]]
    assert backends == [{"name": "gateway", "port": {"name": "http"}}]
    assert config["PUBLIC_BASE_URL"] == f"https://{ingress['rules'][0]['host']}"


def test_the_secret_template_is_clearly_placeholders(objects, secret: dict[str, str]) -> None:
    text = (K8S / SECRET_TEMPLATE).read_text()
    assert "TEMPLATE" in text and "PLACEHOLDER" in text
    assert all("REPLACE_ME" in value for value in secret.values())
    assert secret["link-sealing-key"] != DEV_LINK_SEALING_KEY


def test_every_configmap_key_is_a_setting(config: dict[str, str]) -> None:
    known = {field.upper() for cls in SETTINGS_OF.values() for field in cls.model_fields}
    assert set(config) <= known, f"no settings class reads {sorted(set(config) - known)}"


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_each_container_gets_an_environment_its_process_accepts(
    objects, config: dict[str, str], secret: dict[str, str], name: str, load_settings
) -> None:
    spec = pod(objects, name)
    [main] = spec["containers"]
    env = resolve_env(main, config, secret)
    cls = SETTINGS_OF[name]
    named = {item["name"] for item in main["env"]}
    fields = {field.upper() for field in cls.model_fields}
    assert named <= fields | ENTRYPOINT_VARIABLES, (
        f"{name} is given {sorted(named - fields)}, which it never reads"
    )

    settings = load_settings(cls, env)
    assert settings.environment == "production"
    assert settings.quorum_queues is True
    # Only the processes that seal or open links hold the key; a gateway broken into has none.
    assert ("LINK_SEALING_KEY" in named) == (name in {"invitations", "notifications", "sender"})
    # Old keys only open: the two processes that open links may get them, invitations never.
    assert ("LINK_SEALING_OLD_KEYS" in named) == (name in {"notifications", "sender"})
    if "LINK_SEALING_KEY" in named:
        assert settings.link_sealing_key == secret["link-sealing-key"]
    # Each pod has its own broker login, the one the other services know it by.
    assert settings.amqp_uri == secret[f"{name}-amqp-uri"]
    assert login_of(settings.amqp_uri) == login_name(name)
    if name != "gateway":
        service = "notifications" if name == "sender" else name
        assert env["DATABASE_URL"] == secret[f"{service}-database-url"]
    if name == "sender":
        assert settings.smtp_username == secret["smtp-username"]
        assert settings.smtp_password.get_secret_value() == secret["smtp-password"]
    if name == "gateway":
        assert settings.cookie_secure is True
        assert settings.host == ALL_INTERFACES

    for init in spec.get("initContainers", []):
        # The migrations read DATABASE_URL through CommonSettings, which must accept the rest.
        init_env = resolve_env(init, config, secret)
        assert set(init_env) == {"DATABASE_URL"}
        assert load_settings(CommonSettings, init_env).database_url.startswith("postgresql+psycopg://")


def test_the_sender_runs_without_an_smtp_login(
    objects, config: dict[str, str], secret: dict[str, str], load_settings
) -> None:
    """Both SMTP secret keys are optional: a server without a login has neither."""
    [container] = pod(objects, "sender")["containers"]
    without_login = {k: v for k, v in secret.items() if not k.startswith("smtp-")}
    optional = [item for item in container["env"] if item["name"].startswith("SMTP_")]
    assert optional and all(item["valueFrom"]["secretKeyRef"]["optional"] is True for item in optional)
    given = [item for item in container["env"] if item not in optional]
    env = resolve_env({**container, "env": given}, config, without_login)
    settings = load_settings(NotificationsSettings, env)
    assert settings.smtp_username is None and settings.smtp_password is None


def test_during_a_rotation_the_openers_get_the_old_keys_from_the_secret(
    objects, config: dict[str, str], secret: dict[str, str], load_settings
) -> None:
    """`link-sealing-old-keys` is optional: absent (as in the template), the processes start with
    none; present, notifications and the sender open with each of them, and seal with the new key."""
    old, older, new = (Fernet.generate_key().decode() for _ in range(3))
    assert "link-sealing-old-keys" not in secret
    rotating = {**secret, "link-sealing-key": new, "link-sealing-old-keys": f"{old},{older}"}
    for name in ("notifications", "sender"):
        [container] = pod(objects, name)["containers"]
        [item] = [item for item in container["env"] if item["name"] == "LINK_SEALING_OLD_KEYS"]
        assert item["valueFrom"]["secretKeyRef"] == {
            "name": "portal-secrets",
            "key": "link-sealing-old-keys",
            "optional": True,
        }
        assert (
            load_settings(NotificationsSettings, resolve_env(container, config, secret)).link_sealing_old_keys
            == ()
        )
        settings = load_settings(NotificationsSettings, resolve_env(container, config, rotating))
        assert settings.link_sealing_old_keys == (old, older)
        sealed_before = LinkSealer([old]).seal(
            "https://portal.example.com/invite/t",
            recipient="a@example.com",
            purpose="invitation",
            subject=uuid.uuid4(),
            expires_at=datetime.now(UTC) + timedelta(days=1),
        )
        assert settings.link_sealer.open(sealed_before).recipient == "a@example.com"
