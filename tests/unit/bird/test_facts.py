"""Bird's facts (``airflow_provider_sms.bird.facts``) against Bird's published schema, as
vendored in the sandbox (``sandbox/bird_sandbox/schema``), and the loader that turns that
schema into validators.

Each fact the schema states has a check, run against the facts module; each check is also run
against a copy of the facts with that fact changed, and must fail there.
"""

from __future__ import annotations

import copy
import json
import re
import string
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from importlib import resources
from types import SimpleNamespace

import pytest

from airflow_provider_sms.bird import facts
from bird_sandbox import schema as bird_schema

RAW = bird_schema.read_vendored(bird_schema.CREATE_MESSAGE_FILE)
RAW_BATCH = bird_schema.read_vendored(bird_schema.CREATE_BATCH_FILE)


def component(name: str, doc: dict = RAW) -> dict:
    return doc["components"]["schemas"][name]


def resolved(node: dict) -> dict:
    """``node``, or what its ``$ref`` names in the published document."""
    while "$ref" in node:
        node = component(node["$ref"].rpartition("/")[2])
    return node


def message_part() -> dict:
    """CreateMessage's fields (its first allOf part; the second says body or template)."""
    return next(part for part in component("CreateMessage")["allOf"] if "properties" in part)


def body_branches() -> dict[str, dict]:
    """Each body type that has a schema of its own (a Body oneOf branch), and that schema."""
    union = next(part for part in component("Body")["allOf"] if "oneOf" in part)
    branches = {}
    for branch in union["oneOf"]:
        schema = resolved(branch)
        [kind] = schema["properties"]["type"]["enum"]
        branches[kind] = schema
    return branches


def parameter_branches() -> dict[str, dict]:
    branches = {}
    for branch in component("TemplateParameter")["oneOf"]:
        [kind] = branch["properties"]["type"]["enum"]
        branches[kind] = branch
    return branches


def requires_media_url(content: dict) -> bool:
    """Whether a body's content must carry a media URL (itself, or in each item of a list)."""
    content = resolved(content)
    for name in content.get("required", ()):
        field = resolved(content["properties"][name])
        if name == "mediaUrl" or "mediaUrl" in resolved(field.get("items", {})).get("required", ()):
            return True
    return False


# -- the checks --------------------------------------------------------------------------------

CHECKS: dict[str, Callable[[SimpleNamespace], None]] = {}


def check(function):
    CHECKS[function.__name__] = function
    return function


@check
def message_fields(f):
    assert set(message_part()["properties"]) == f.MESSAGE_FIELDS


@check
def message_option_fields(f):
    # The fields besides the required receiver and the content (body or template, anyOf).
    alternatives = next(p for p in component("CreateMessage")["allOf"] if "anyOf" in p)
    content = {name for branch in alternatives["anyOf"] for name in branch["required"]}
    assert content == {"body", "template"}
    assert message_part()["required"] == ["receiver"]
    assert set(message_part()["properties"]) - {"receiver"} - content == f.MESSAGE_OPTION_FIELDS


@check
def body_types(f):
    enum = component("BodyTypes")["enum"]
    assert len(enum) == len(set(enum)) and set(enum) == f.BODY_TYPES


@check
def mms_body_types(f):
    # The body types whose content must carry a media URL: what an MMS sends.
    branches = body_branches()
    with_media = {
        k for k, schema in branches.items() if requires_media_url(schema["properties"][k])
    }
    assert with_media == f.MMS_BODY_TYPES


@check
def template_parameter_types(f):
    assert set(parameter_branches()) == f.TEMPLATE_PARAMETER_TYPES


@check
def template_parameter_scalar_types(f):
    values = {kind: branch["properties"]["value"] for kind, branch in parameter_branches().items()}
    scalars = {kind for kind, value in values.items() if value.get("type") != "object"}
    assert scalars == f.TEMPLATE_PARAMETER_SCALAR_TYPES
    # Each scalar type carries a JSON value of that type.
    assert all(values[kind]["type"] == kind for kind in f.TEMPLATE_PARAMETER_SCALAR_TYPES)


@check
def template_parameter_fields(f):
    for branch in parameter_branches().values():
        assert set(branch["properties"]) == f.TEMPLATE_PARAMETER_FIELDS
        assert set(branch["required"]) <= f.TEMPLATE_PARAMETER_FIELDS


@check
def max_tags(f):
    assert component("Tags")["maxItems"] == f.MAX_TAGS
    assert f"up to {f.MAX_TAGS} tags" in component("Tags")["description"]


@check
def tag_length(f):
    name = component("Name-3")
    assert (name["minLength"], name["maxLength"]) == (1, f.MAX_TAG_LENGTH)
    assert f"between 1 and {f.MAX_TAG_LENGTH} characters" in name["description"]


@check
def bird_tag_pattern(f):
    assert component("Name-3")["pattern"] == f.BIRD_TAG_PATTERN


@check
def tag_pattern(f):
    # TAG_PATTERN accepts only what Bird's pattern accepts, and exactly what its description
    # says: "alphanumeric characters, hyphens, underscores, and spaces".
    name = component("Name-3")
    assert "alphanumeric characters, hyphens, underscores, and spaces" in name["description"]
    birds = re.compile(name["pattern"])
    described = set(string.ascii_letters + string.digits + "-_ ")
    for char in string.printable:
        ours = f.TAG_PATTERN.fullmatch(char) is not None
        assert not ours or birds.search(char), f"TAG_PATTERN accepts {char!r}, Bird does not"
        assert ours == (char in described), char
    assert f.TAG_PATTERN.fullmatch("on-call team_2") and birds.search("on-call team_2")


@check
def message_statuses(f):
    enum = component("Status-3")["enum"]
    assert len(enum) == len(set(enum)) and set(enum) == f.MESSAGE_STATUSES


@check
def max_batch_size(f):
    batch = component(bird_schema.CREATE_BATCH_MESSAGES, RAW_BATCH)
    assert f"up to {f.MAX_BATCH_SIZE} messages" in batch["description"]
    assert batch["properties"]["messageRequests"]["minItems"] == 1


@check
def max_schedule_ahead_days(f):
    description = " ".join(component("ScheduledFor")["description"].split())
    assert f"farther than {f.MAX_SCHEDULE_AHEAD_DAYS} days will be rejected" in description


@check
def uuid_pattern(f):
    # Ids are `format: uuid`; UUID_PATTERN accepts UUIDs, in either case, and nothing else.
    assert component("ChannelId")["format"] == component("Id-2")["format"] == "uuid"
    for value in (str(uuid.uuid4()), str(uuid.uuid4()).upper()):
        assert f.UUID_PATTERN.fullmatch(value), value
    for value in ("", "not-a-uuid", str(uuid.uuid4())[:-1], str(uuid.uuid4()).replace("-", "")):
        assert not f.UUID_PATTERN.fullmatch(value), value


@check
def validity(f):
    validity = component("Validity")
    assert validity["type"] == "integer" and validity["minimum"] == f.MIN_VALIDITY_SECONDS
    description = " ".join(validity["description"].split())
    assert f"36 hours ({f.DEFAULT_VALIDITY_SECONDS} seconds)" in description
    assert f"10 minutes ({f.DEFAULT_2FA_VALIDITY_SECONDS} seconds)" in description


@check
def short_link_domain(f):
    domain = component("ShortLinks")["properties"]["domain"]
    assert domain["maxLength"] == f.MAX_SHORT_LINK_DOMAIN_LENGTH
    assert f"When set to `{f.DEFAULT_SHORT_LINK_DOMAIN}`" in domain["description"]


def utm_branches() -> list[dict]:
    return component("Template")["properties"]["utmParameters"]["items"]["oneOf"]


@check
def utm_parameters(f):
    utm = component("Template")["properties"]["utmParameters"]
    assert (utm["minItems"], utm["maxItems"]) == (f.MIN_UTM_PARAMETERS, f.MAX_UTM_PARAMETERS)
    static, dynamic = utm_branches()
    for branch in (static, dynamic):
        assert branch["properties"]["key"]["maxLength"] == f.MAX_UTM_KEY_LENGTH
    assert static["properties"]["value"]["maxLength"] == f.MAX_UTM_VALUE_LENGTH
    assert set(dynamic["properties"]["reference"]["enum"]) == f.UTM_REFERENCES


# Each check, and a change to the facts that it must catch.
WRONG = {
    "message_fields": ("MESSAGE_FIELDS", facts.MESSAGE_FIELDS - {"validity"}),
    "message_option_fields": ("MESSAGE_OPTION_FIELDS", facts.MESSAGE_OPTION_FIELDS | {"body"}),
    "body_types": ("BODY_TYPES", facts.BODY_TYPES | {"sms"}),
    "mms_body_types": ("MMS_BODY_TYPES", facts.MMS_BODY_TYPES | {"text"}),
    "template_parameter_types": (
        "TEMPLATE_PARAMETER_TYPES",
        facts.TEMPLATE_PARAMETER_TYPES - {"productList"},
    ),
    "template_parameter_scalar_types": (
        "TEMPLATE_PARAMETER_SCALAR_TYPES",
        facts.TEMPLATE_PARAMETER_SCALAR_TYPES | {"object"},
    ),
    "template_parameter_fields": (
        "TEMPLATE_PARAMETER_FIELDS",
        facts.TEMPLATE_PARAMETER_FIELDS - {"value"},
    ),
    "max_tags": ("MAX_TAGS", facts.MAX_TAGS + 1),
    "tag_length": ("MAX_TAG_LENGTH", facts.MAX_TAG_LENGTH + 14),
    "bird_tag_pattern": ("BIRD_TAG_PATTERN", r"^[a-zA-Z0-9_ -]+$"),
    "tag_pattern": ("TAG_PATTERN", re.compile(r"[A-Za-z0-9_\- :]+")),
    "message_statuses": ("MESSAGE_STATUSES", facts.MESSAGE_STATUSES - {"skipped"}),
    "max_batch_size": ("MAX_BATCH_SIZE", 1000),
    "max_schedule_ahead_days": ("MAX_SCHEDULE_AHEAD_DAYS", 30),
    "uuid_pattern": ("UUID_PATTERN", re.compile(r"[0-9a-fA-F-]+")),
    "validity": ("DEFAULT_VALIDITY_SECONDS", 86400),
    "short_link_domain": ("MAX_SHORT_LINK_DOMAIN_LENGTH", 255),
    "utm_parameters": ("MAX_UTM_VALUE_LENGTH", 255),
}


def facts_namespace(**changes) -> SimpleNamespace:
    values = {name: getattr(facts, name) for name in dir(facts) if name.isupper()}
    return SimpleNamespace(**{**values, **changes})


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_facts_agree_with_birds_schema(name):
    CHECKS[name](facts_namespace())


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_each_check_fails_when_a_fact_disagrees(name):
    fact, wrong = WRONG[name]
    assert getattr(facts, fact) != wrong
    with pytest.raises(AssertionError):
        CHECKS[name](facts_namespace(**{fact: wrong}))


def test_every_check_has_a_disagreement_to_catch():
    assert set(WRONG) == set(CHECKS)


def test_facts_the_schema_does_not_state_are_still_not_stated():
    # Taken from Bird's pages instead; once the schema states them, add a check above.
    branches = body_branches()
    assert "maxItems" not in branches["image"]["properties"]["image"]["properties"]["images"]
    assert "maxItems" not in branches["file"]["properties"]["file"]["properties"]["files"]
    assert "maxLength" not in component("Reference")
    assert "maxLength" not in component("Notification")["properties"]["url"]
    assert "maxProperties" not in component("Meta")["properties"]["extraInformation"]
    assert "maximum" not in component("Validity")
    batch = component(bird_schema.CREATE_BATCH_MESSAGES, RAW_BATCH)
    assert "maxItems" not in batch["properties"]["messageRequests"]


# -- the loader --------------------------------------------------------------------------------


def test_the_vendored_files_are_read_as_published():
    for name in (bird_schema.CREATE_MESSAGE_FILE, bird_schema.CREATE_BATCH_FILE):
        text = resources.files(bird_schema).joinpath(name).read_text(encoding="utf-8")
        assert bird_schema.read_vendored(name) == json.loads(text)
        assert name in resources.files(bird_schema).joinpath("SOURCE.md").read_text()
    # A fresh copy each time: changing one changes nothing for the next reader.
    changed = bird_schema.read_vendored(bird_schema.CREATE_MESSAGE_FILE)
    changed["components"].clear()
    assert bird_schema.read_vendored(bird_schema.CREATE_MESSAGE_FILE) == RAW


def _has_key(node, key: str) -> bool:
    if isinstance(node, dict):
        return key in node or any(_has_key(v, key) for v in node.values())
    if isinstance(node, list):
        return any(_has_key(v, key) for v in node)
    return False


@pytest.mark.parametrize(
    "openapi, expected",
    [
        ({"type": "string", "nullable": True}, {"type": ["string", "null"]}),
        (
            {"type": "string", "enum": ["a"], "nullable": True},
            {"type": ["string", "null"], "enum": ["a", None]},
        ),
        (
            {"allOf": [{"type": "object"}], "nullable": True},
            {"anyOf": [{"allOf": [{"type": "object"}]}, {"type": "null"}]},
        ),
        ({"type": "string", "nullable": False}, {"type": "string"}),
        (
            {"properties": {"a": {"type": "integer", "nullable": True}}},
            {"properties": {"a": {"type": ["integer", "null"]}}},
        ),
        ([{"nullable": True, "$ref": "#/x"}], [{"anyOf": [{"$ref": "#/x"}, {"type": "null"}]}]),
    ],
)
def test_nullable_becomes_a_union_with_null(openapi, expected):
    assert bird_schema.openapi_to_jsonschema(openapi) == expected


def test_the_loaded_documents_are_json_schema():
    from jsonschema import Draft7Validator

    assert _has_key(RAW, "nullable") and not _has_key(bird_schema.document(), "nullable")
    assert not _has_key(bird_schema.batch_document(), "nullable")
    for doc in (bird_schema.document(), bird_schema.batch_document()):
        for schema in doc["components"]["schemas"].values():
            Draft7Validator.check_schema(schema)
    # Nullable fields take null: a template's parameters, say.
    template = bird_schema.validator(bird_schema.ref("Template"))
    assert template.is_valid(None) and template.is_valid({"parameters": None})
    assert not template.is_valid({"parameters": "x"})


def test_overlays_add_documented_fields_and_fail_once_bird_has_them():
    assert "sms" not in component("Meta")["properties"]
    meta = bird_schema.validator(bird_schema.ref("Meta"))
    assert meta.is_valid({"sms": {"smartEncoding": True}})
    assert not meta.is_valid({"sms": {"smartEncoding": "yes"}})
    assert not meta.is_valid({"sms": {"other": True}})
    for overlay in bird_schema.OVERLAYS:
        assert overlay.source.startswith("https://docs.bird.com/")
        assert overlay.field not in component(overlay.schema).get("properties", {})
    grown = copy.deepcopy(RAW)
    component("Meta", grown)["properties"]["sms"] = {"type": "object"}
    with pytest.raises(RuntimeError, match="drop the overlay"):
        bird_schema.apply_overlays(grown)


def test_batch_items_are_create_message_and_the_envelope_checks_only_objects():
    valid = {
        "receiver": {"contacts": [{"identifierValue": "+31612345678"}]},
        "body": {"type": "text", "text": {"text": "hi"}},
    }
    full = bird_schema.create_batch_validator()
    envelope = bird_schema.batch_envelope_validator()
    assert full.is_valid({"messageRequests": [valid]})
    assert not full.is_valid({"messageRequests": [{"foo": 1}]})
    assert envelope.is_valid({"messageRequests": [{"foo": 1}]})
    for wrong in ({"messageRequests": []}, {"messageRequests": [1]}, {"messageRequests": {}}):
        assert not full.is_valid(wrong) and not envelope.is_valid(wrong)


def test_validators_are_built_once_per_process():
    uri = bird_schema.ref("Receiver")
    built = []
    threads = [
        threading.Thread(target=lambda: built.append(bird_schema.validator(uri))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(v is built[0] for v in built) and bird_schema.validator(uri) is built[0]
    assert bird_schema.create_message_validator() is bird_schema.create_message_validator()


def test_importing_the_loader_does_not_import_jsonschema():
    code = "import sys, bird_sandbox.schema; print('jsonschema' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


# -- dispatching on `type` gives Bird's verdict ------------------------------------------------


def test_the_unions_split_are_birds():
    body, parameter = bird_schema.unions()
    assert (body.name, body.path, body.prop) == ("Body", ("body",), "type")
    # BodyTypes lists two types no Body branch takes ("action"'s branch says its type is
    # "permission_request", which BodyTypes does not list): no body of those types is valid.
    assert set(body.branches) == facts.BODY_TYPES - {"template", "action"}
    assert body.branchless == {"template", "action"}
    assert set(parameter.branches) == facts.TEMPLATE_PARAMETER_TYPES
    assert parameter.branchless == frozenset()


RECEIVER = {"contacts": [{"identifierValue": "+31612345678"}]}
MEDIA = "https://example.com/a.png"


def _message(**content) -> dict:
    return {"receiver": RECEIVER, **content}


def _parameters(*parameters) -> dict:
    return _message(template={"projectId": "p", "parameters": list(parameters)})


SAMPLES = [
    _message(body={"type": "text", "text": {"text": "hi"}}),
    _message(body={"type": "text", "text": {"text": ""}}),
    _message(body={"type": "text", "text": {"text": "hi", "extra": 1}}),
    _message(body={"type": "text", "image": {"images": [{"mediaUrl": MEDIA}]}}),
    _message(body={"type": "image", "image": {"images": [{"mediaUrl": MEDIA}], "text": "t"}}),
    _message(body={"type": "image", "image": {"images": [{"altText": "no url"}]}}),
    _message(body={"type": "file", "file": {"files": [{"mediaUrl": MEDIA}]}}),
    _message(body={"type": "file", "file": {"files": [{"mediaUrl": MEDIA, "contentType": "a/b"}]}}),
    _message(body={"type": "gif", "gif": {"mediaUrl": MEDIA}}),
    _message(body={"type": "html", "html": {"text": "t", "html": "<p>t</p>"}}),
    _message(body={"type": "location", "location": {"coordinates": {"latitude": 1}}}),
    _message(body={"type": "template"}),
    _message(body={"type": "action", "action": {}}),
    _message(body={"type": "permission_request"}),
    _message(body={"type": "sms", "text": {"text": "hi"}}),
    _message(body={"text": {"text": "no type"}}),
    _message(body={"type": 3}),
    _message(body=None),
    _message(body="text"),
    _message(body={"type": "text", "text": {"text": "hi"}}, template=None),
    _message(template=None),
    _message(template={"projectId": "p"}),
    _parameters({"type": "string", "key": "a", "value": "x"}),
    _parameters({"type": "string", "key": "a", "value": 1}),
    _parameters({"type": "number", "key": "a", "value": 1.5}),
    _parameters({"type": "number", "key": "a", "value": "1"}),
    _parameters({"type": "boolean", "key": "a", "value": True}),
    _parameters({"type": "object", "key": "a", "value": {"b": 1}}),
    _parameters({"type": "object", "key": "a", "value": [1]}),
    _parameters({"type": "productList", "key": "a", "value": {"products": []}}),
    _parameters({"type": "productList", "key": "a", "value": {}}),
    _parameters({"type": "string", "value": "no key"}),
    _parameters({"type": "nope", "key": "a"}),
    _parameters({"key": "a"}),
    _parameters("a string"),
    _parameters({"type": "string", "key": "a"}, {"type": "number", "key": "b", "value": "x"}),
    _message(template={"projectId": "p", "parameters": None}),
    _message(template={"projectId": "p", "parameters": {"type": "string"}}),
    {"body": {"type": "text", "text": {"text": "no receiver"}}},
    _message(),
    [],
    None,
]


@pytest.mark.parametrize("sample", SAMPLES, ids=[json.dumps(s)[:70] for s in SAMPLES])
def test_dispatching_gives_the_verdict_of_birds_whole_schema(sample):
    whole = bird_schema.create_message_validator()
    dispatching = bird_schema.DispatchingValidator()
    assert dispatching.is_valid(sample) == whole.is_valid(sample)
    # And it reports where: every path it names is one a problem of the whole schema has.
    if not whole.is_valid(sample):
        whole_paths = {tuple(e.absolute_path) for e in whole.iter_errors(sample)}
        for error in dispatching.iter_errors(sample):
            path = tuple(error.absolute_path)
            assert any(path[: len(p)] == p for p in whole_paths), path


def test_the_samples_cover_valid_and_invalid_messages():
    whole = bird_schema.create_message_validator()
    verdicts = [whole.is_valid(sample) for sample in SAMPLES]
    assert verdicts.count(True) >= 10 and verdicts.count(False) >= 20
