"""The way out: what the send operators, the hook's TaskFlow verbs, the notifier and the
approval do with plain values once a task runs. Only `sends` is imported when a DAG file is
parsed (the operators take their kinds and defaults from it; its heavy imports are in its
functions); the rest at run time.

- `sends`: one send of each kind (SMS, MMS, template) from its arguments, and `deliver`ing it.
- `prepare`: a send's policy, bad input as task failures, reference seeds.
- `engine`: `deliver()`, the one call a send makes (dry run, pre-send check, the exactly-once
  send or an alert).
- `ledger`: the write-ahead record in the task state store.
- `uploads`: an MMS's files read and uploaded once.
- `result`: what a send returns (its XCom) and the texts of its failures."""
