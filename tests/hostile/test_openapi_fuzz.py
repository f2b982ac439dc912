"""Schemathesis over the gateway's whole OpenAPI document, as the running gateway serves it.

Every operation gets valid and invalid requests (schemathesis's generators, driven by Hypothesis),
once with a real staff API token and once with none. Every answer must be documented: no 5xx, a
status the operation lists, a body that matches its schema, the content type and headers it
declares, invalid input refused, an operation that needs a token refusing a request without one
(schemathesis's default checks, but "valid input is accepted": see `api_schema`). Without a token,
every staff API answer is 401 unless the gateway refused the request before any handler ran. Ids
in paths and bodies are sometimes swapped for real ones (so the fuzzer reaches past "not found"),
half of them another organization's: those must answer 404 (or an empty list), and that
organization's data must be exactly as it was at the end.

One pytest case per operation and variant, each running Hypothesis itself: schemathesis's own
pytest integration (`schema.parametrize`) does not run on pytest 9 (it sets `Node._nodeid`).
Examples per operation and variant: `EXAMPLES` (CI) or `EXAMPLES_FULL` (HOSTILE_FULL=1); the
counts of what ran go to test-artifacts/hostile/schemathesis.{json,md}.
"""

from __future__ import annotations

import json
import os
import time
import uuid
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET
from schemathesis.core.failures import AcceptedNegativeData, FailureGroup

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "hostile"
FULL = os.environ.get("HOSTILE_FULL", "") not in ("", "0")
VARIANT = "full" if FULL else "ci"
EXAMPLES = 25
EXAMPLES_FULL = 300
MAX_EXAMPLES = EXAMPLES_FULL if FULL else EXAMPLES
SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,  # nothing written into the work tree; failures print a curl command instead
    suppress_health_check=list(HealthCheck),
)

# Path and body fields that hold ids, and the real ids worth trying in them.
ID_FIELDS = (
    "contact_id",
    "property_id",
    "lease_id",
    "invitation_id",
    "job_id",
    "unit_id",
    "viewing_id",
    "offer_id",
)
LIST_ID_FIELDS = ("contact_ids", "tenant_contact_ids")


@dataclass
class Known:
    """Real ids, of the organization the fuzzer signs in to (`own`) and of another (`foreign`)."""

    own: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    foreign: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    token: str = ""

    def all_foreign(self) -> set[str]:
        return {value for values in self.foreign.values() for value in values}

    def pick(self, name: str, value: Any) -> Any:
        """A real id for the field `name`, or `value` itself, chosen by `value`'s hash so a
        replayed example gets the same choice. Only an id swaps for an id: what is invalid on
        purpose stays invalid."""
        choices = self.own.get(name, []) + self.foreign.get(name, [])
        if not choices or not _is_uuid(value):
            return value
        index = zlib.crc32(f"{name}:{value}".encode()) % (2 * len(choices))
        return choices[index] if index < len(choices) else value

    @staticmethod
    def email(value: Any) -> Any:
        """Half the time, a deliverable-looking address in place of the generated string (the
        document does not say the field is an email, so the generator rarely makes one)."""
        if not isinstance(value, str) or len(value) > 254:  # invalid for the schema on purpose
            return value
        digest = zlib.crc32(f"email:{value}".encode())
        return f"fuzz.{digest:08x}@example.com" if digest % 2 else value


KNOWN = Known()


def _is_uuid(value: Any) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Swap generated ids for real ones, and strings for emails (schemathesis re-checks the case
    after this hook, so a case made valid is judged as valid)."""
    for name in list(case.path_parameters or {}):
        case.path_parameters[name] = KNOWN.pick(name, case.path_parameters[name])
    if isinstance(case.body, dict):
        if "email" in case.body:
            case.body["email"] = KNOWN.email(case.body["email"])
        for name in ID_FIELDS:
            if name in case.body:
                case.body[name] = KNOWN.pick(name, case.body[name])
        for name in LIST_ID_FIELDS:
            if isinstance(case.body.get(name), list):
                case.body[name] = [KNOWN.pick("contact_id", value) for value in case.body[name]]


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    cases: Counter[tuple[str, str]] = field(default_factory=Counter)
    statuses: dict[tuple[str, str], Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    foreign: Counter[tuple[str, str]] = field(default_factory=Counter)

    def record(self, variant: str, label: str, status: int, foreign: bool) -> None:
        self.cases[variant, label] += 1
        self.statuses[variant, label][status] += 1
        if foreign:
            self.foreign[variant, label] += 1

    def write(self) -> None:
        seconds = round(time.monotonic() - self.started, 1)
        operations = sorted({label for _, label in self.cases})
        variants = sorted({variant for variant, _ in self.cases})
        data = {
            "schemathesis": schemathesis.__version__,
            "variant": VARIANT,
            "max_examples_per_operation": MAX_EXAMPLES,
            "seconds": seconds,
            "requests": sum(self.cases.values()),
            "operations": {
                label: {
                    variant: {
                        "cases": self.cases[variant, label],
                        "with_another_organizations_id": self.foreign[variant, label],
                        "statuses": {str(k): v for k, v in sorted(self.statuses[variant, label].items())},
                    }
                    for variant in variants
                }
                for label in operations
            },
        }
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "schemathesis.json").write_text(json.dumps(data, indent=2) + "\n")
        lines = [
            "# Schemathesis over the gateway's OpenAPI",
            "",
            f"schemathesis {schemathesis.__version__}, variant `{VARIANT}` (at most {MAX_EXAMPLES} "
            f"generated examples per operation and variant), {data['requests']} requests in {seconds} s.",
            "Requests per operation and how they were answered; `foreign` counts requests that carried "
            "another organization's id.",
            "",
            "| operation | variant | requests | foreign | statuses |",
            "|---|---|---:|---:|---|",
        ]
        for label in operations:
            for variant in variants:
                statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses[variant, label].items()))
                lines.append(
                    f"| `{label}` | {variant} | {self.cases[variant, label]} | "
                    f"{self.foreign[variant, label]} | {statuses} |"
                )
        (ARTIFACTS / "schemathesis.md").write_text("\n".join(lines) + "\n")


STATS = Stats()


def _snapshot(org: Any, objects: dict[str, Any]) -> dict[str, Any]:
    contact_id = objects["contact"]["id"]
    return {
        "contact": org.admin.get(f"/contacts/{contact_id}"),
        "property": org.admin.get(f"/properties/{objects['property']['id']}"),
        "links": org.admin.get(f"/contacts/{contact_id}/links"),
        "invitations": org.admin.get(f"/contacts/{contact_id}/invitations"),
        "access": org.admin.get(f"/contacts/{contact_id}/portal-access"),
        "contacts": org.admin.get("/contacts", include_archived=True)["total"],
        "properties": org.admin.get("/properties")["total"],
        "all_invitations": org.admin.get("/invitations")["total"],
        "viewings": org.admin.get(f"/properties/{objects['landlord_property']['id']}/viewings"),
        "offers": org.admin.get(f"/properties/{objects['landlord_property']['id']}/offers"),
        "feedback visibility": [
            org.admin.get(f"/contacts/{contact_id}/visibility/viewing-feedback")
            for contact_id in objects["objects"]["contact_id"]
        ],
    }


def _wait_until_settled(org: Any, objects: dict[str, Any], timeout: float = 60) -> None:
    """Until the invitation's email and the bulk job are done: nothing changes by itself after."""
    deadline = time.monotonic() + timeout
    contact_id, job_id = objects["contact"]["id"], objects["objects"]["job_id"][0]
    while True:
        access = org.admin.get(f"/contacts/{contact_id}/portal-access")["status"]
        job = org.admin.get(f"/portal-invitations/bulk/{job_id}")
        if access == "delivered" and job["finished_at"] and job["delivered"] + job["skipped"] == job["total"]:
            return
        assert time.monotonic() < deadline, f"still not settled: {access}, {job}"
        time.sleep(0.2)


def _objects(platform: Any, org: Any) -> dict[str, Any]:
    tenant = org.tenant_with_lease()
    landlord = org.landlord_of_property()
    invitation = org.admin.post(f"/contacts/{tenant['id']}/portal-invitations")
    platform.link_in_email(tenant["email"])
    other = org.tenant_with_lease()
    job = org.admin.post("/portal-invitations/bulk", {"contact_ids": [other["id"]]}, 202)
    landlord_property_id = landlord["property"]["id"]
    viewing = org.admin.post(
        f"/properties/{landlord_property_id}/viewings",
        {"scheduled_at": "2026-03-14T10:30:00Z", "applicant_name": "Priya Applicant"},
    )
    org.admin.post(f"/viewings/{viewing['id']}/feedback", {"feedback": "Liked it"}, 200)
    offer = org.admin.post(
        f"/properties/{landlord_property_id}/offers", {"amount_minor": 100, "offerer_name": "Jo"}
    )
    return {
        "contact": tenant,
        "property": tenant["property"],
        "landlord_property": landlord["property"],
        "objects": {
            "contact_id": [tenant["id"], landlord["id"], other["id"]],
            "property_id": [tenant["property"]["id"], landlord["property"]["id"]],
            "unit_id": [tenant["unit"]["id"]],
            "lease_id": [tenant["lease"]["id"]],
            "invitation_id": [invitation["id"]],
            "job_id": [job["id"]],
            "viewing_id": [viewing["id"]],
            "offer_id": [offer["id"]],
        },
    }


@pytest.fixture(scope="module")
def fuzzed(platform: Any) -> Iterator[tuple[Any, Any, dict[str, Any]]]:
    """The organization the fuzzer signs in to, and a bystander whose ids it tries; at the end the
    bystander's data must be unchanged, and the statistics are written."""
    own, bystander = platform.new_organization("Fuzzed "), platform.new_organization("Bystander ")
    own_objects, bystander_objects = _objects(platform, own), _objects(platform, bystander)
    KNOWN.own.update(own_objects["objects"])
    KNOWN.foreign.update(bystander_objects["objects"])
    KNOWN.token = own.admin.token
    _wait_until_settled(bystander, bystander_objects)
    before = _snapshot(bystander, bystander_objects)
    yield own, bystander, bystander_objects
    STATS.write()
    after = _snapshot(bystander, bystander_objects)
    assert after == before, "the fuzzer changed another organization's data"


def _operation_labels() -> list[str]:
    """Every operation of the OpenAPI document, from the same code the running gateway serves."""
    from portal_gateway.app import create_app

    document = create_app().openapi()
    return [f"{method.upper()} {path}" for path, methods in document["paths"].items() for method in methods]


OPERATIONS = _operation_labels()


@pytest.fixture(scope="module")
def api_schema(platform: Any, fuzzed: Any) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "generation": {
                # The token is ours to send (or not): generated Authorization headers would replace it.
                "with-security-parameters": False,
                # Unknown query parameters are ignored, as HTTP APIs do; not a refusal to test for.
                "allow-extra-parameters": False,
            },
            "checks": {
                # "Schema-valid input is accepted" asks the request schemas to say every rule the
                # contracts check (email syntax, blank-after-stripping names, "at least one change");
                # they do not yet, and a refusal of such input is a documented 422.
                "positive_data_acceptance": {"enabled": False},
                # Invalid input may also be refused for its size: 10,001 ids are over the body limit.
                "negative_data_rejection": {
                    "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
                },
            },
        }
    )
    return schemathesis.openapi.from_url(f"{platform.url}/openapi.json", config=config)


def _carries_foreign_id(case: Any) -> bool:
    foreign = KNOWN.all_foreign()
    values = list((case.path_parameters or {}).values())
    if isinstance(case.body, dict):
        values += [case.body.get(name) for name in ID_FIELDS]
        for name in LIST_ID_FIELDS:
            if isinstance(case.body.get(name), list):
                values += case.body[name]
    return any(isinstance(value, str) and value in foreign for value in values)


def _foreign_path_id(case: Any) -> bool:
    foreign = KNOWN.all_foreign()
    return any(value in foreign for value in (case.path_parameters or {}).values())


def _strategy(operation: Any) -> Any:
    """Valid and invalid requests; only valid ones where there is nothing to make invalid."""
    positive = operation.as_strategy(GenerationMode.POSITIVE)
    raw = operation.definition.raw
    if not raw.get("parameters") and not raw.get("requestBody"):
        return positive
    return st.one_of(positive, operation.as_strategy(GenerationMode.NEGATIVE))


def _trimmed(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [_trimmed(item) for item in value]
    if isinstance(value, dict):
        return {key: _trimmed(item) for key, item in value.items()}
    return value


def _valid_once_trimmed(case: Any) -> bool:
    """The request fits the document once its strings are trimmed, as the contracts' string types
    trim them before checking their length: "\t" and 16 characters is a 16-character postcode."""
    import jsonschema_rs

    operation, checks = case.operation, []
    if case.body is not NOT_SET and case.media_type is not None:
        body = operation.get_body_for_media_type(case.media_type)
        if body is None:
            return False
        checks.append((body.validation_schema, _trimmed(case.body)))
    for container, value in (
        (operation.query, case.query),
        (operation.path_parameters, case.path_parameters),
    ):
        if value:
            checks.append((container.validation_schema, _trimmed(dict(value))))
    return all(jsonschema_rs.validator_for(schema).is_valid(value) for schema, value in checks)


def _validate(case: Any, response: Any, **kwargs: Any) -> None:
    """schemathesis's checks, but for invalid input that is valid once trimmed (see above)."""
    try:
        case.validate_response(response, **kwargs)
    except FailureGroup as group:
        lenient = all(isinstance(failure, AcceptedNegativeData) for failure in group.exceptions)
        if not (lenient and _valid_once_trimmed(case)):
            raise


def _with_token(case: Any) -> None:
    headers = {"Authorization": f"Bearer {KNOWN.token}"}
    response = case.call(headers=headers)
    STATS.record("token", case.operation.label, response.status_code, _carries_foreign_id(case))
    _validate(case, response, headers=headers)
    if _foreign_path_id(case):
        # Another organization's object by id is never answered: 404 (or a refusal before that).
        assert response.status_code >= 400, f"{case.operation.label} answered {response.status_code}"


def _without_token(case: Any) -> None:
    response = case.call()
    STATS.record("no token", case.operation.label, response.status_code, _carries_foreign_id(case))
    _validate(case, response)
    if case.operation.path.startswith("/api/"):
        # Only what the gateway refuses before any handler runs is answered before the missing
        # token: a body it cannot read (400, 413), NUL in the text (422).
        status = response.status_code
        refused_early = status in (400, 413) or (
            status == 422 and "NUL" in response.json()["error"]["message"]
        )
        assert status == 401 or refused_early, f"{case.operation.label}: {status} {response.text[:200]}"


@pytest.mark.parametrize("variant", ["token", "no token"])
@pytest.mark.parametrize("label", OPERATIONS)
def test_every_operation_answers_as_documented(api_schema: Any, label: str, variant: str) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, f"the running gateway does not document {label}"
    call = _with_token if variant == "token" else _without_token

    @given(case=_strategy(operation))
    @SETTINGS
    def run(case: Any) -> None:
        call(case)

    run()
