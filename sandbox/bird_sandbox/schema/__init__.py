"""Bird's published request schemas (the JSON files beside this module) as JSON-schema
validators, for the sandbox and the contract tests.

The files are Bird's text, unchanged (``SOURCE.md``). Loading them:

* OpenAPI 3.0 ``nullable: true`` becomes a JSON-schema union with ``null``;
* the batch fragment's reference to ``CreateMessage`` points into the createChannelMessage
  document, where that schema lives;
* :data:`OVERLAYS` adds the few fields Bird documents but its published schema lacks, each
  citing its page;
* the documents are registered with ``referencing`` under the URIs below, so that
  ``#/components/schemas/...`` references resolve.

Validators are compiled once per process (compiling costs far more than validating) and may be
shared between threads. They validate against the documents with their references inlined,
which means the same and spares a registry lookup per ``$ref`` on every validation.

Bird's ``Body`` and ``TemplateParameter`` are ``oneOf`` unions told apart by their ``type``: a
validator tries every branch, which is slow and reports the errors of branches that were never
meant. :class:`DispatchingValidator` validates them against the branch their ``type`` names
instead, with the same verdict.

Standard library at import; ``jsonschema`` and ``referencing`` are imported on first use.
"""

from .documents import (
    BATCH_URI,
    CREATE_BATCH_FILE,
    CREATE_BATCH_MESSAGES,
    CREATE_MESSAGE,
    CREATE_MESSAGE_FILE,
    DOCUMENT_URI,
    OVERLAYS,
    SMART_ENCODING_DOCS,
    SPLIT_URI,
    Overlay,
    apply_overlays,
    batch_document,
    document,
    openapi_to_jsonschema,
    read_vendored,
    ref,
    schema,
)
from .unions import UNIONS, Union, split_document, unions
from .validators import (
    DispatchingValidator,
    batch_envelope_validator,
    create_batch_validator,
    create_message_validator,
    registry,
    validator,
)

__all__ = [
    "BATCH_URI",
    "CREATE_BATCH_FILE",
    "CREATE_BATCH_MESSAGES",
    "CREATE_MESSAGE",
    "CREATE_MESSAGE_FILE",
    "DOCUMENT_URI",
    "OVERLAYS",
    "SMART_ENCODING_DOCS",
    "SPLIT_URI",
    "UNIONS",
    "DispatchingValidator",
    "Overlay",
    "Union",
    "apply_overlays",
    "batch_document",
    "batch_envelope_validator",
    "create_batch_validator",
    "create_message_validator",
    "document",
    "openapi_to_jsonschema",
    "read_vendored",
    "ref",
    "registry",
    "schema",
    "split_document",
    "unions",
    "validator",
]
