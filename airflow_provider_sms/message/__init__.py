"""What describes a message to send, checked before any request: recipients (E.164), due
times, segments, delivery options, Bird's request bodies, the files an MMS carries, and
`Outgoing`, one message to many recipients with its references. Airflow-free and pure.

Nothing is re-exported here: each caller imports the module that defines a name, so loading one
(a DAG file's operator) loads neither the rest nor phonenumbers."""
