"""The way out, at run time: what the send operators, the notifier and the approval do with
plain values once a task runs. Imported at run time, never when a DAG file is parsed.

- `prepare`: a send's policy, bad input as task failures, reference seeds.
- `engine`: `deliver()`, the one call a send makes (dry run, pre-send check, the exactly-once
  send or an alert).
- `ledger`: the write-ahead record in the task state store.
- `uploads`: an MMS's files read and uploaded once.
- `result`: what a send returns (its XCom) and the texts of its failures."""
