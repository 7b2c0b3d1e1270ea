"""The case engine: the only code that changes a case — raising and acting through the
workflow table (`cases`, `case_actions`, `flow`), who may see and do what (`access`),
references, routing and escalation, due times and the timer sweep, and the messages each
change sends (`effects`, `notify`)."""
