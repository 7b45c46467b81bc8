"""The package's layers, declared once: what each may import from the package, and which
never import Airflow. `tests/unit/test_layers.py` checks the code against them,
`tests/unit/test_contributing.py` checks CONTRIBUTING.md's layer table against them."""

NAME = "airflow_provider_sms"

# Which parts of the package each layer (a subpackage or a top-level module) may import,
# besides itself; "__init__" is the package's own `__init__.py`.
ALLOWED: dict[str, set[str]] = {
    layer: set(parts.split())
    for layer, parts in {
        "redaction": "",
        "loopback": "",
        "compat": "",
        "metrics": "compat",
        "bird": "loopback redaction __init__",
        "message": "bird.facts bird.errors bird.ids redaction",
        # The hook's TaskFlow verbs send through outbound, which names the hook in its
        # annotations only (under TYPE_CHECKING, which the layer test does not count).
        "hooks": "bird message outbound compat get_provider_info __init__",
        "outbound": "bird message compat metrics redaction __init__",
        "inbound": "bird message hooks outbound.result compat metrics redaction",
        "operators": (
            "bird message hooks outbound inbound triggers compat metrics redaction __init__"
        ),
        "notifications": "bird message hooks outbound compat __init__",
        "triggers": "bird message hooks inbound compat redaction __init__",
        "sensors": (
            "bird message hooks outbound inbound triggers compat metrics redaction __init__"
        ),
        # The receiver of Bird's webhooks in Airflow's API server, and its CLI.
        "webhooks": "bird hooks compat redaction __init__",
    }.items()
}

# Layers, or single modules, that never import Airflow: the inbound filter and question are
# imported when a DAG file is parsed, and the client and the message checks run anywhere.
AIRFLOW_FREE = ("bird", "message", "inbound.filter", "inbound.question")

# The sandbox, a distribution of its own (sandbox/): no module of the package imports it, and it
# imports only these parts of the package, and never Airflow.
SANDBOX = "bird_sandbox"
SANDBOX_ALLOWED = {"bird.facts", "loopback"}
