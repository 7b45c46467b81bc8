"""Bird Channels API client. No Airflow imports: usable outside a DAG and cheap to test."""
