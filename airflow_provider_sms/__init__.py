"""Apache Airflow provider for SMS, MMS and template messages through Bird's Channels API."""

__version__ = "0.1.0"
