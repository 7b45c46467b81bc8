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
        "bird": "loopback redaction __init__",
        "message": "bird.facts bird.errors bird.ids redaction",
        "inbound": "bird.errors message.recipients redaction",
        "hooks": "bird message __init__",
        "delivery": "bird message inbound hooks redaction",
        "operators": "bird message inbound hooks delivery triggers redaction __init__",
        "notifications": "bird message hooks delivery __init__",
        "triggers": "bird message inbound hooks delivery redaction __init__",
        "sensors": "bird message inbound hooks delivery triggers redaction __init__",
        "sandbox": "bird.facts bird.schema loopback",
    }.items()
}

# Layers, or single modules, that never import Airflow: the inbound filter and question are
# imported when a DAG file is parsed, and the client and the message checks run anywhere.
AIRFLOW_FREE = ("bird", "message", "inbound.filter", "inbound.question", "sandbox")
