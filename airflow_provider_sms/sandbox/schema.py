"""Request schemas the sandbox validates against (JSON Schema draft 2020-12).

Modelled on the structure of Bird's ``CreateMessage`` request, restricted to what SMS/MMS
channels use. It is deliberately a little stricter than Bird's published schema (exactly one
of ``body``/``template``, at least one contact, at most 10 media items, no ``null`` values) so
that anything the sandbox accepts is also accepted by Bird. Plain data: no jsonschema import.

Two rules live in the backend rather than here: exactly one of ``body``/``template`` (kept out
of the schema because a root ``oneOf`` gives unhelpful errors), and the per-type body check
against ``BODY_SCHEMAS``.
"""

from __future__ import annotations

MAX_MEDIA_ITEMS = 10
MAX_BATCH_ITEMS = 100

# Absolute URL with a scheme; Bird declares ``format: uri``, which validators do not enforce.
_URL = {"type": "string", "minLength": 1, "pattern": r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$"}
# RFC 3339 date-time (``format: date-time`` in Bird's schema), checked by pattern so no
# format-checker dependency is needed.
_DATE_TIME = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$",
}

_MEDIA_METADATA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"subject": {"type": "string"}, "fallbackText": {"type": "string"}},
}

_CONTACT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "identifierKey": {"type": "string", "minLength": 1},
        "identifierValue": {"type": "string", "minLength": 1},
        "type": {"enum": ["to", "cc", "bcc"]},
        "identifiers": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["identifierKey", "identifierValue"],
                "properties": {
                    "identifierKey": {"type": "string"},
                    "identifierValue": {"type": "string"},
                },
            },
        },
        "platformAddress": {"type": "string"},
        "platformAddressSelector": {"type": "string"},
    },
    # A contact must say who receives the message one way or another.
    "anyOf": [
        {"required": ["identifierValue"]},
        {"required": ["id"]},
        {"required": ["identifiers"]},
        {"required": ["platformAddress"]},
    ],
}

_TEXT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["text"],
    "properties": {"text": {"type": "string", "minLength": 1}},
}

_IMAGE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["images"],
    "properties": {
        "text": {"type": "string"},
        "images": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_MEDIA_ITEMS,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["mediaUrl"],
                "properties": {"mediaUrl": _URL, "altText": {"type": "string"}},
            },
        },
        "metadata": _MEDIA_METADATA,
    },
}

_FILE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["files"],
    "properties": {
        "text": {"type": "string"},
        "files": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_MEDIA_ITEMS,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["mediaUrl", "contentType"],
                "properties": {
                    "mediaUrl": _URL,
                    "contentType": {"type": "string", "minLength": 1},
                    "filename": {"type": "string"},
                    "altText": {"type": "string"},
                },
            },
        },
        "metadata": _MEDIA_METADATA,
    },
}

_GIF = {
    "type": "object",
    "additionalProperties": False,
    "required": ["mediaUrl"],
    "properties": {"mediaUrl": _URL, "text": {"type": "string"}, "altText": {"type": "string"}},
}

BODY_TYPES = {"text": _TEXT, "image": _IMAGE, "file": _FILE, "gif": _GIF}
MMS_BODY_TYPES = frozenset({"image", "file", "gif"})


# Bird's body is a union discriminated on ``type``. The message schema only checks the type;
# the backend then validates the body against ``BODY_SCHEMAS[type]``. Dispatching in code is
# several times faster than ``if``/``then`` branches, which jsonschema evaluates one by one.
BODY_SCHEMAS = {
    kind: {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "required": ["type", kind],
        "properties": {"type": {"const": kind}, kind: content},
    }
    for kind, content in BODY_TYPES.items()
}

_BODY = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"enum": sorted(BODY_TYPES)}},
}

TEMPLATE_PARAMETER_TYPES = [
    "string",
    "number",
    "boolean",
    "object",
    "sectionList",
    "timeslotList",
    "productSections",
    "productList",
    "shippingMethodList",
    "lineItemList",
    "whatsappProductSections",
    "whatsappProductItems",
]

_VALUE_TYPES = {"string": "string", "number": "number", "boolean": "boolean"}

_TEMPLATE_PARAMETER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type", "key"],
    "properties": {
        "type": {"enum": TEMPLATE_PARAMETER_TYPES},
        "key": {"type": "string", "minLength": 1},
        "value": {},
    },
    "allOf": [
        {
            "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
            "then": {"properties": {"value": {"type": json_type}}},
        }
        for name, json_type in _VALUE_TYPES.items()
    ]
    + [
        {
            "if": {
                "properties": {"type": {"not": {"enum": list(_VALUE_TYPES)}}},
                "required": ["type"],
            },
            "then": {"properties": {"value": {"type": "object"}}},
        }
    ],
}

_TEMPLATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["projectId"],
    "properties": {
        "projectId": {"type": "string", "minLength": 1},
        "version": {"type": "string", "minLength": 1},
        "locale": {"type": "string", "minLength": 1},
        "name": {"type": "string"},
        "parameters": {"type": "array", "items": _TEMPLATE_PARAMETER},
        "variables": {"type": "object", "additionalProperties": {"type": "string"}},
        "shortLinks": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"enabled": {"type": "boolean"}, "domain": {"type": "string"}},
        },
    },
}

_TAG = {"type": "string", "minLength": 1, "maxLength": 50, "pattern": r"^[a-zA-Z0-9\-_ ]+$"}

# Sub-objects of ``meta`` that Bird defines for other channels are accepted as opaque objects.
_OPAQUE = {"type": "object"}

_META = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "extraInformation": {"type": "object"},
        "sms": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"smartEncoding": {"type": "boolean"}},
        },
        "referral": _OPAQUE,
        "order": _OPAQUE,
        "referredProduct": _OPAQUE,
        "email": _OPAQUE,
        "pushNotifications": _OPAQUE,
        "navigatorId": {"type": "string"},
        "navigatorMessageId": {"type": "string"},
        "flow": _OPAQUE,
        "journey": _OPAQUE,
        "campaign": _OPAQUE,
    },
}

CREATE_MESSAGE_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "CreateMessage (sandbox)",
    "type": "object",
    "additionalProperties": False,
    "required": ["receiver"],
    "properties": {
        "sender": {
            "type": "object",
            "additionalProperties": False,
            "required": ["connector"],
            "properties": {
                "connector": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["identifierValue"],
                    "properties": {
                        "identifierValue": {"type": "string"},
                        "annotations": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {"name": {"type": "string"}},
                        },
                    },
                }
            },
        },
        "receiver": {
            "type": "object",
            "additionalProperties": False,
            "required": ["contacts"],
            "properties": {"contacts": {"type": "array", "minItems": 1, "items": _CONTACT}},
        },
        "reference": {"type": "string"},
        "template": _TEMPLATE,
        "meta": _META,
        "replyTo": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "type"],
            "properties": {
                "id": {"type": "string"},
                "type": {"enum": ["message", "click", "referrals"]},
                "order": {"type": "integer"},
            },
        },
        "body": _BODY,
        "notification": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"url": {"type": "string"}},
        },
        "capFrequency": {"type": "boolean"},
        "enableLinkTracking": {"type": "boolean"},
        "ignoreQuietHours": {"type": "boolean"},
        "ignoreGlobalHoldout": {"type": "boolean"},
        "tags": {"type": "array", "maxItems": 10, "items": _TAG},
        "shortLinks": {
            "type": "object",
            "additionalProperties": False,
            "required": ["domain"],
            "properties": {"domain": {"type": "string", "minLength": 1, "maxLength": 128}},
        },
        "scheduledFor": _DATE_TIME,
        "validity": {"type": "integer", "minimum": 0},
    },
}

# Only the envelope is validated synchronously; each item is checked afterwards against
# CREATE_MESSAGE_SCHEMA, as Bird validates batch items asynchronously.
CREATE_BATCH_MESSAGES_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "CreateBatchMessages (sandbox)",
    "type": "object",
    "additionalProperties": False,
    "required": ["messageRequests"],
    "properties": {
        "messageRequests": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_BATCH_ITEMS,
            "items": {"type": "object"},
        }
    },
}
