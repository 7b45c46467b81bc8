"""Provider metadata read by Airflow's provider discovery; a literal dict, cheap to import."""


def get_provider_info():
    return {
        "package-name": "airflow-provider-sms",
        "name": "SMS (Bird)",
        "description": "Send SMS, MMS and template messages through Bird's Channels API.",
        "integrations": [
            {
                "integration-name": "Bird",
                "external-doc-url": "https://docs.bird.com/api/channels-api",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Bird",
                "python-modules": ["airflow_provider_sms.hooks.bird"],
            }
        ],
        "operators": [
            {
                "integration-name": "Bird",
                "python-modules": [
                    "airflow_provider_sms.operators.sms",
                    "airflow_provider_sms.operators.mms",
                    "airflow_provider_sms.operators.template",
                    "airflow_provider_sms.operators.chunks",
                    "airflow_provider_sms.operators.interactions",
                    "airflow_provider_sms.operators.approval",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Bird",
                "python-modules": [
                    "airflow_provider_sms.sensors.message_status",
                    "airflow_provider_sms.sensors.reply",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": "Bird",
                "python-modules": [
                    "airflow_provider_sms.triggers.message_status",
                    "airflow_provider_sms.triggers.reply",
                    "airflow_provider_sms.triggers.inbound",
                    "airflow_provider_sms.triggers.approval",
                ],
            }
        ],
        "notifications": ["airflow_provider_sms.notifications.sms.SmsNotifier"],
        "connection-types": [
            {
                "connection-type": "bird",
                "hook-class-name": "airflow_provider_sms.hooks.bird.BirdHook",
                "hook-name": "Bird",
                "ui-field-behaviour": {
                    "hidden-fields": ["port", "login", "schema"],
                    "relabeling": {"password": "Access key", "host": "API base URL"},
                    "placeholders": {
                        "host": "https://api.bird.com",
                        "password": "Bird access key (Settings > Security > Access keys)",
                    },
                },
                "conn-fields": {
                    "workspace_id": {
                        "label": "Workspace ID",
                        "description": "Required. The UUID of the Bird workspace.",
                        # No "null" in the type: Airflow's form marks the field required and
                        # keeps Save disabled until it has a value.
                        "schema": {"type": "string", "minLength": 1},
                    },
                    "channel_id": {
                        "label": "Default channel ID",
                        "description": "Optional. The SMS channel used when an operator "
                        "names none.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "max_requests_per_second": {
                        "label": "Max requests per second",
                        "description": "Optional. Client-side cap on POST requests, kept "
                        "under Bird's workspace limit (default 500).",
                        "schema": {"type": ["integer", "null"], "minimum": 1},
                    },
                    "share_rate_limit_on_host": {
                        "label": "Share the rate limit on this host",
                        "description": "Optional (default on). Tasks on one host sending to "
                        "this workspace take turns under its limit; tasks on other hosts "
                        "adapt to Bird's 429s.",
                        "schema": {"type": ["boolean", "null"], "default": True},
                    },
                    "rate_limit_redis_url": {
                        "label": "Redis for the rate limit across hosts",
                        "description": "Optional. A redis:// URL, without a password, where "
                        "tasks on every host sending to this workspace take turns under its "
                        "limit (default: the Celery broker, when it is Redis; off for none).",
                        "schema": {"type": ["string", "null"]},
                    },
                    # Its own field, as a password: Airflow's API and UI show a URL in clear
                    # and hide this one (by its name, and the form by its format).
                    "rate_limit_redis_password": {
                        "label": "Redis password",
                        "description": "Optional. The password of that Redis (never in the URL).",
                        "schema": {"type": ["string", "null"], "format": "password"},
                    },
                    "timeout": {
                        "label": "Read timeout (seconds)",
                        "description": "Optional. How long to wait for Bird's answer (default "
                        "30). A send that gets no answer is looked up in Bird before a retry "
                        "sends it again.",
                        "schema": {"type": ["number", "null"], "minimum": 1},
                    },
                    "max_retries": {
                        "label": "Max retries",
                        "description": "Optional. Retries on 5xx and connection failures, "
                        "with jittered exponential backoff (default 5); a 429 is always "
                        "retried, at a slower pace.",
                        "schema": {"type": ["integer", "null"], "minimum": 0},
                    },
                    "dry_run": {
                        "label": "Dry run (staging)",
                        "description": "Optional (default off). Every send, alert and "
                        "approval question through this connection is a dry run: checked "
                        "and logged, never sent, whatever the task says.",
                        "schema": {"type": ["boolean", "null"], "default": False},
                    },
                    "max_messages": {
                        "label": "Max messages per send",
                        "description": "Optional. The most messages one send or alert may "
                        "make; more fails it before anything is sent (an operator's "
                        "max_messages takes precedence).",
                        "schema": {"type": ["integer", "null"], "minimum": 1},
                    },
                    "max_total_segments": {
                        "label": "Max SMS segments per send",
                        "description": "Optional. The most SMS segments one send may take "
                        "(messages times segments each); more fails it before anything is "
                        "sent.",
                        "schema": {"type": ["integer", "null"], "minimum": 1},
                    },
                    "retry_backoff": {
                        "label": "Retry backoff (seconds)",
                        "description": "Optional. The first backoff; it doubles per retry "
                        "(default 0.5).",
                        "schema": {"type": ["number", "null"], "minimum": 0.001},
                    },
                    # A secret: Airflow's API and UI hide an extra by its name, and one
                    # holding "secret" is one they hide.
                    "webhook_signing_secret": {
                        "label": "Webhook signing key",
                        "description": "Optional. The key Bird signs this connection's "
                        "webhooks with; the receiver at /bird/webhooks/<conn_id> refuses "
                        "anything not signed with it.",
                        "schema": {"type": ["string", "null"], "format": "password"},
                    },
                    "webhook_url": {
                        "label": "Webhook URL",
                        "description": "Optional. The URL Bird calls for this connection's "
                        "webhooks when it is not the API server's own (behind a proxy), such "
                        "as https://airflow.example.com/bird/webhooks/bird_default.",
                        "schema": {"type": ["string", "null"]},
                    },
                },
            }
        ],
        # `airflow bird webhooks ...` (Airflow 3.2 and later read a provider's commands).
        "cli": ["airflow_provider_sms.webhooks.cli.get_bird_cli_commands"],
    }
