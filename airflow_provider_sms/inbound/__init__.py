"""The way back: what Bird's answers mean to a DAG.

- `filter` (which senders and texts a watcher or a sensor wants) and `question` (a question
  answered by SMS: its code, its text and how a reply reads as an answer) are pure and
  Airflow-free: a DAG file imports them at parse time.
- At run time: `replies` (replies to a send), `answers` (a reply as an approval's answer),
  `interactions` (clicks, opt-outs), `status` (what a status wait follows and how it ends)."""
