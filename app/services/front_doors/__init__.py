"""The front doors: how each kind of case comes in and what is particular to it —
doorstep requests raised by citizens, complaints registered at a counter, office tickets,
staff interactions, helpdesk calls and e-mail, and bulk actions on a selection. Each calls
the engine to change a case."""
