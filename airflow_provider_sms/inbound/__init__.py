"""The way back: what an inbound message is wanted for. `filter.py` (which senders and texts a
watcher or a sensor wants) and `question.py` (a question answered by SMS: its code, its text and
how a reply reads as an answer) are pure and Airflow-free: a DAG file imports them at parse
time."""
