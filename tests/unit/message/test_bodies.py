import copy
import math

import pytest
from support import load_create_message_validator

from airflow_provider_sms.bird.errors import InvalidMessageError
from airflow_provider_sms.message.bodies import (
    file_body,
    image_body,
    message_options,
    mms_body,
    template_payload,
    text_body,
)
from airflow_provider_sms.message.outgoing import Outgoing, default_reference, send_seed

CHANNEL = "6b52e9cb-2ddf-45b5-8aea-62882e999fb7"
PROJECT = "3f8f23b5-e9a5-4e10-9c36-93c27d1578d6"
VERSION = "aeccf807-8f52-439f-b720-fcf65b483adb"
IMG = "https://cdn.example.com/a.jpg"
PDF = "https://cdn.example.com/docs/report.pdf"


# -- body builders: exact output -------------------------------------------------------


def test_text_body():
    assert text_body("Hello\n") == {"type": "text", "text": {"text": "Hello\n"}}


def test_image_body_minimal_and_full():
    assert image_body(IMG) == {"type": "image", "image": {"images": [{"mediaUrl": IMG}]}}
    assert image_body(
        [IMG, {"url": "http://x.example/b.png", "alt_text": "B"}], text="Hi", title="Subj"
    ) == {
        "type": "image",
        "image": {
            "images": [{"mediaUrl": IMG}, {"mediaUrl": "http://x.example/b.png", "altText": "B"}],
            "text": "Hi",
            "metadata": {"subject": "Subj"},
        },
    }


def test_file_body_guesses_content_type_and_keeps_given_values():
    body = file_body(
        [
            PDF,
            "https://x.example/p/photo.JPG?sig=abc#frag",
            {"url": "https://x.example/dl?id=7", "content_type": "text/csv", "filename": "a.csv"},
        ],
        text="See attached",
        title="Report",
    )
    assert body == {
        "type": "file",
        "file": {
            "files": [
                {"mediaUrl": PDF, "contentType": "application/pdf"},
                {
                    "mediaUrl": "https://x.example/p/photo.JPG?sig=abc#frag",
                    "contentType": "image/jpeg",
                },
                {
                    "mediaUrl": "https://x.example/dl?id=7",
                    "contentType": "text/csv",
                    "filename": "a.csv",
                },
            ],
            "text": "See attached",
            "metadata": {"subject": "Report"},
        },
    }


def test_mms_body_dispatches():
    assert mms_body(images=IMG, text="t") == image_body(IMG, text="t")
    assert mms_body(files=PDF, title="s") == file_body(PDF, title="s")


def test_template_payload_typed_dict_parameters():
    assert template_payload(
        PROJECT, locale="pt-BR", parameters={"name": "Ana", "n": 3, "x": 1.5, "vip": False}
    ) == {
        "projectId": PROJECT,
        "version": "latest",
        "locale": "pt-BR",
        "parameters": [
            {"type": "string", "key": "name", "value": "Ana"},
            {"type": "number", "key": "n", "value": 3},
            {"type": "number", "key": "x", "value": 1.5},
            {"type": "boolean", "key": "vip", "value": False},
        ],
    }


def test_template_payload_list_parameters_pass_through_and_empty_omitted():
    params = [
        {"type": "string", "key": "name", "value": "Ana"},
        {"type": "object", "key": "order", "value": {"id": 1}},
    ]
    out = template_payload(PROJECT, version=VERSION, locale="zh-Hant-TW", parameters=params)
    assert out == {
        "projectId": PROJECT,
        "version": VERSION,
        "locale": "zh-Hant-TW",
        "parameters": params,
    }
    assert "parameters" not in template_payload(PROJECT, parameters={})
    assert "parameters" not in template_payload(PROJECT, parameters=[])


@pytest.mark.parametrize("locale", ["en", "en-US", "pt-BR", "zh-Hant-TW", "es-419", "sr-Latn-RS"])
def test_valid_locales(locale):
    assert template_payload(PROJECT, locale=locale)["locale"] == locale


def test_message_options():
    assert message_options() == {}
    assert message_options(reference="airflow:dag.task:run") == {
        "reference": "airflow:dag.task:run"
    }
    assert message_options(tags=" alerts, on-call_2 ,,") == {"tags": ["alerts", "on-call_2"]}
    assert message_options(reference="r", tags=["a b"] * 10) == {
        "reference": "r",
        "tags": ["a b"] * 10,
    }
    assert message_options(reference="r" * 256)["reference"] == "r" * 256


def build_message(recipient, *, options=None, **content):
    return Outgoing("SMS", (recipient,), CHANNEL, content, options or {}).request(recipient)


def outgoing(**arguments):
    defaults = {
        "kind": "SMS",
        "recipients": "+31612345678",
        "channel_id": CHANNEL,
        "content": {"body": text_body("Hi")},
    }
    return Outgoing.build(**{**defaults, **arguments})


def test_request_shares_content_and_merges_options():
    body = text_body("Hi")
    msg = build_message("+31612345678", body=body, options={"reference": "r"})
    assert msg == {
        "receiver": {
            "contacts": [{"identifierKey": "phonenumber", "identifierValue": "+31612345678"}]
        },
        "body": {"type": "text", "text": {"text": "Hi"}},
        "reference": "r",
    }
    assert msg["body"] is body  # not copied: built once per recipient
    tpl = template_payload(PROJECT)
    assert build_message("+1", template=tpl) == {
        "receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": "+1"}]},
        "template": tpl,
    }


def test_default_references_differ_per_recipient_and_yield_to_a_given_one():
    seed = send_seed("dag", "run", "task", -1, 2)
    message = outgoing(recipients="+31612345678, +31612345679", reference_seed=seed)
    first, second = (message.request(r)["reference"] for r in message.recipients)
    assert first != second and first.startswith("airflow-")
    assert first == default_reference("dag", "run", "task", -1, "+31612345678", max_tries=2)
    # A clear raises max_tries: the cleared task's messages are new ones.
    cleared = send_seed("dag", "run", "task", -1, 4)
    assert outgoing(reference_seed=cleared).request("+31612345678")["reference"] != first
    given = outgoing(reference="mine", reference_seed=seed)
    assert given.request("+31612345678")["reference"] == "mine"


def test_digest_follows_the_content_not_the_recipients():
    assert outgoing().digest == outgoing(recipients="+31612345679").digest
    assert outgoing().digest != outgoing(content={"body": text_body("Hi!")}).digest
    assert outgoing().digest != outgoing(tags=["a"]).digest


def test_builders_do_not_mutate_inputs():
    images = [{"url": IMG, "alt_text": "A"}]
    params = {"a": 1}
    snapshot = copy.deepcopy((images, params))
    image_body(images)
    template_payload(PROJECT, parameters=params)
    assert (images, params) == snapshot


# -- bad input: one case each, field name asserted --------------------------------------

ELEVEN = [f"https://x.example/{i}.png" for i in range(11)]
BAD = [
    # text
    ("empty text", lambda: text_body(""), "text", "empty"),
    ("whitespace text", lambda: text_body(" \n\t"), "text", "empty"),
    ("None text", lambda: text_body(None), "text", "got None"),
    ("int text", lambda: text_body(42), "text", "got int"),
    ("custom field", lambda: text_body("", field="message"), "message", "empty"),
    # images
    ("11 images", lambda: image_body(ELEVEN), "images", "at most 10 items allowed (got 11)"),
    ("no images", lambda: image_body([]), "images", "at least one"),
    ("None images", lambda: image_body(None), "images", "got None"),
    ("relative url", lambda: image_body([IMG, "/img/a.png"]), "images[1]", "absolute http(s)"),
    ("ftp url", lambda: image_body("ftp://x.example/a.png"), "images", "absolute http(s)"),
    ("data url", lambda: image_body(["data:image/png;base64,AAAA"]), "images[0]", "absolute"),
    ("no host", lambda: image_body(["https:///a.png"]), "images[0]", "absolute"),
    ("empty url", lambda: image_body([IMG, IMG, IMG, ""]), "images[3]", "must not be empty"),
    ("space in url", lambda: image_body(["https://x.example/a b.png"]), "images[0]", "whitespace"),
    ("bad port", lambda: image_body(["https://x.example:99999/a.png"]), "images[0]", "not a valid"),
    ("int url", lambda: image_body([5]), "images[0]", "got int"),
    ("dict url ftp", lambda: image_body([{"url": "ftp://x/a"}]), "images[0].url", "absolute"),
    ("unknown image key", lambda: image_body([{"url": IMG, "alt": "x"}]), "images[0]", "'alt'"),
    (
        "image dict no url",
        lambda: image_body([{"alt_text": "x"}]),
        "images[0]",
        "'url' is required",
    ),
    (
        "empty alt_text",
        lambda: image_body([{"url": IMG, "alt_text": ""}]),
        "images[0].alt_text",
        "empty",
    ),
    ("empty caption", lambda: image_body(IMG, text=" "), "text", "empty"),
    ("empty title", lambda: image_body(IMG, title=""), "title", "empty"),
    ("int title", lambda: file_body(PDF, title=3), "title", "got int"),
    # files
    ("11 files", lambda: file_body([PDF] * 11), "files", "at most 10 items allowed (got 11)"),
    ("no files", lambda: file_body(()), "files", "at least one"),
    (
        "unknown extension",
        lambda: file_body([PDF, PDF, "https://x/report.xyz"]),
        "files[2]",
        "cannot tell the content type of 'https://x/report.xyz'; give it as",
    ),
    ("no extension", lambda: file_body("https://x.example/download"), "files", "content type"),
    ("compressed", lambda: file_body("https://x.example/a.csv.gz"), "files", "content type"),
    (
        "bad content_type",
        lambda: file_body([{"url": PDF, "content_type": "pdf"}]),
        "files[0].content_type",
        "'pdf'",
    ),
    (
        "content_type int",
        lambda: file_body([{"url": PDF, "content_type": 1}]),
        "files[0].content_type",
        "got int",
    ),
    (
        "file no url",
        lambda: file_body([{"content_type": "application/pdf"}]),
        "files[0]",
        "'url' is required",
    ),
    ("file relative url", lambda: file_body([{"url": "report.pdf"}]), "files[0].url", "absolute"),
    ("unknown file key", lambda: file_body([{"url": PDF, "name": "a"}]), "files[0]", "'name'"),
    (
        "empty filename",
        lambda: file_body([{"url": PDF, "filename": ""}]),
        "files[0].filename",
        "empty",
    ),
    # mms
    ("both media", lambda: mms_body(images=IMG, files=PDF), "images/files", "not both"),
    ("no media", lambda: mms_body(text="hi"), "images/files", "needs images or files"),
    # template
    ("project not uuid", lambda: template_payload("my-project"), "project_id", "UUID"),
    (
        "project None",
        lambda: template_payload(None),
        "project_id/template_name",
        "exactly one of project_id and template_name",
    ),
    (
        "project uuid no dashes",
        lambda: template_payload(PROJECT.replace("-", "")),
        "project_id",
        "UUID",
    ),
    (
        "bad version",
        lambda: template_payload(PROJECT, version="v2"),
        "version",
        "'latest' or a UUID",
    ),
    ("int version", lambda: template_payload(PROJECT, version=2), "version", "got int"),
    ("locale english", lambda: template_payload(PROJECT, locale="english"), "locale", "BCP 47"),
    ("locale underscore", lambda: template_payload(PROJECT, locale="en_US"), "locale", "BCP 47"),
    ("locale empty", lambda: template_payload(PROJECT, locale=""), "locale", "BCP 47"),
    ("locale trailing dash", lambda: template_payload(PROJECT, locale="en-"), "locale", "BCP 47"),
    ("locale None", lambda: template_payload(PROJECT, locale=None), "locale", "got None"),
    (
        "parameters str",
        lambda: template_payload(PROJECT, parameters="a=1"),
        "parameters",
        "got str",
    ),
    (
        "param None",
        lambda: template_payload(PROJECT, parameters={"a": None}),
        "parameters.a",
        "None",
    ),
    (
        "param list",
        lambda: template_payload(PROJECT, parameters={"a": [1]}),
        "parameters.a",
        "list",
    ),
    ("param dict", lambda: template_payload(PROJECT, parameters={"a": {}}), "parameters.a", "dict"),
    (
        "param NaN",
        lambda: template_payload(PROJECT, parameters={"a": math.nan}),
        "parameters.a",
        "finite",
    ),
    (
        "param inf",
        lambda: template_payload(PROJECT, parameters={"a": math.inf}),
        "parameters.a",
        "finite",
    ),
    (
        "param empty key",
        lambda: template_payload(PROJECT, parameters={"": "x"}),
        "parameters.''",
        "non-empty",
    ),
    (
        "list param bad type",
        lambda: template_payload(PROJECT, parameters=[{"type": "text", "key": "a", "value": "x"}]),
        "parameters[0].type",
        "'text' is not a Bird parameter type",
    ),
    (
        "list param missing key",
        lambda: template_payload(PROJECT, parameters=[{"type": "string", "value": "x"}]),
        "parameters[0].key",
        "non-empty",
    ),
    (
        "list param duplicate key",
        lambda: template_payload(
            PROJECT,
            parameters=[
                {"type": "string", "key": "a", "value": "x"},
                {"type": "number", "key": "a", "value": 1},
            ],
        ),
        "parameters[1].key",
        "duplicate parameter key 'a'",
    ),
    (
        "list param number as str",
        lambda: template_payload(
            PROJECT, parameters=[{"type": "number", "key": "n", "value": "3"}]
        ),
        "parameters[0].value",
        "got str",
    ),
    (
        "list param bool as number",
        lambda: template_payload(
            PROJECT, parameters=[{"type": "number", "key": "n", "value": True}]
        ),
        "parameters[0].value",
        "got bool",
    ),
    (
        "list param string as int",
        lambda: template_payload(PROJECT, parameters=[{"type": "string", "key": "n", "value": 3}]),
        "parameters[0].value",
        "got int",
    ),
    (
        "list param missing value",
        lambda: template_payload(PROJECT, parameters=[{"type": "boolean", "key": "b"}]),
        "parameters[0].value",
        "required",
    ),
    (
        "list param object not dict",
        lambda: template_payload(
            PROJECT, parameters=[{"type": "object", "key": "o", "value": [1]}]
        ),
        "parameters[0].value",
        "got list",
    ),
    (
        "list param unknown key",
        lambda: template_payload(
            PROJECT, parameters=[{"type": "string", "key": "a", "value": "x", "k": 1}]
        ),
        "parameters[0]",
        "'k'",
    ),
    (
        "list param not dict",
        lambda: template_payload(PROJECT, parameters=["a"]),
        "parameters[0]",
        "got str",
    ),
    # options
    ("11 tags", lambda: message_options(tags=[f"t{i}" for i in range(11)]), "tags", "got 11"),
    ("bad tag chars", lambda: message_options(tags=["ok", "no!"]), "tags[1]", "'no!'"),
    ("tag in Bird's literal range", lambda: message_options(tags="a:b"), "tags[0]", "'a:b'"),
    ("tag too long", lambda: message_options(tags=["a" * 51]), "tags[0]", "at most 50"),
    ("empty tag in list", lambda: message_options(tags=["a", " "]), "tags[1]", "empty"),
    ("int tag", lambda: message_options(tags=[1]), "tags[0]", "got int"),
    ("tags dict", lambda: message_options(tags={"a": 1}), "tags", "got dict"),
    ("empty reference", lambda: message_options(reference=""), "reference", "empty"),
    ("blank reference", lambda: message_options(reference="  "), "reference", "empty"),
    ("long reference", lambda: message_options(reference="r" * 257), "reference", "at most 256"),
    ("int reference", lambda: message_options(reference=5), "reference", "got int"),
    # Outgoing.build
    (
        "body and template",
        lambda: outgoing(content={"body": {}, "template": {}}),
        "body/template",
        "exactly one",
    ),
    ("neither", lambda: outgoing(content={}), "body/template", "exactly one"),
    ("no recipient", lambda: outgoing(recipients=[]), "recipients", "at least one"),
    ("bad channel", lambda: outgoing(channel_id="sms"), "channel_id", "UUID"),
    ("bad tags", lambda: outgoing(tags=["no!"]), "tags[0]", "'no!'"),
]


@pytest.mark.parametrize(
    ("call", "field", "fragment"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_input(call, field, fragment):
    with pytest.raises(InvalidMessageError) as info:
        call()
    assert info.value.field == field
    assert fragment in info.value.problem
    assert str(info.value) == f"{field}: {info.value.problem}"


# -- contract: full requests validate against Bird's CreateMessage ----------------------


@pytest.fixture(scope="module")
def create_message_validator():
    return load_create_message_validator()


def _assert_valid(validator, payload):
    errors = sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def _media(n, kind):
    if kind == "image":
        return [f"https://cdn.example.com/{i}.png" for i in range(n)]
    return [f"https://cdn.example.com/{i}.pdf" for i in range(n)]


CONTRACT = {
    "text": lambda: {"body": text_body("Your code is 1234")},
    "image": lambda: {"body": image_body(IMG)},
    "image+text": lambda: {"body": image_body(IMG, text="Caption")},
    "image+text+title": lambda: {"body": image_body(IMG, text="Caption", title="Subject")},
    "10 images": lambda: {"body": image_body(_media(10, "image"), text="t", title="s")},
    "image with alt": lambda: {"body": image_body([{"url": IMG, "alt_text": "A"}])},
    "file": lambda: {"body": file_body(PDF)},
    "file+text": lambda: {"body": file_body(PDF, text="Attached")},
    "file+text+title": lambda: {"body": file_body(PDF, text="Attached", title="Report")},
    "10 files": lambda: {"body": file_body(_media(10, "file"), text="t", title="s")},
    "file with filename": lambda: {
        "body": file_body({"url": PDF, "content_type": "application/pdf", "filename": "r.pdf"})
    },
    "template": lambda: {
        "template": template_payload(
            PROJECT, version=VERSION, locale="en-US", parameters={"name": "Ana", "n": 2, "ok": True}
        )
    },
    "template list params": lambda: {
        "template": template_payload(
            PROJECT, parameters=[{"type": "object", "key": "o", "value": {"a": 1}}]
        )
    },
    "template no params": lambda: {"template": template_payload(PROJECT)},
}


@pytest.mark.parametrize("variant", list(CONTRACT))
def test_request_validates_against_bird_schema(create_message_validator, variant):
    options = message_options(reference="airflow:dag.task:run", tags=["alerts", "on-call"])
    payload = build_message("+31612345678", options=options, **CONTRACT[variant]())
    _assert_valid(create_message_validator, payload)
    _assert_valid(create_message_validator, build_message("+31612345678", **CONTRACT[variant]()))


@pytest.mark.parametrize(
    "payload",
    [
        {"body": {"type": "text", "text": {"text": "x"}}},  # no receiver
        {"receiver": {"contacts": []}},  # neither body nor template
        {
            "receiver": {"contacts": []},
            "body": {"type": "text", "text": {"text": "x"}},
            "statusCallback": "x",
        },
        {"receiver": {"contacts": []}, "body": {"type": "image", "image": {"images": [{}]}}},
        {
            "receiver": {"contacts": []},
            "template": {"parameters": [{"type": "number", "key": "a", "value": "1"}]},
        },
        {
            "receiver": {"contacts": []},
            "body": {"type": "text", "text": {"text": "x"}},
            "tags": ["a"] * 11,
        },
    ],
)
def test_validator_is_not_vacuous(create_message_validator, payload):
    assert list(create_message_validator.iter_errors(payload))
