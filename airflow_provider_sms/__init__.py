"""Apache Airflow provider for SMS, MMS and template messages through Bird's Channels API."""

__version__ = "0.1.0"

# The Bird connection every hook, operator, notifier, sensor and trigger uses unless told
# otherwise (``BirdHook.default_conn_name``); here, so that DAG files get it without loading
# the hook.
DEFAULT_CONN_NAME = "bird_default"
# Seconds a wait reading pushed events goes without one before it asks Bird itself.
DEFAULT_PUSH_FALLBACK = 120.0
