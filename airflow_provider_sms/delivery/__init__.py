"""The delivery layer: what every Airflow adapter (the send operators, the notifier, the status
sensor and trigger) does at run time, on plain values. The exactly-once send (a write-ahead
ledger in the task state store, reconciliation with Bird), dry runs, the outcome and its
summaries, the guards that turn bad input into a task failure, and the conclusions of a
delivery-status wait.

Imported at run time, never at DAG parse time; it imports the hook, `message`, `inbound` and
the Bird client, never an adapter.

- `engine`: `deliver()`, the one call a send makes; `SendPolicy`.
- `ledger`: the write-ahead record.
- `outcome`: what a send returns, and its failure texts.
- `guards`: bad input and failed pre-send checks as task failures; reference seeds.
- `preview`: dry runs.
- `status`: which messages a wait follows, and how it ends."""
