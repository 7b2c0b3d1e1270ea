"""Use cases. The only code that commits; each takes the actor and `now` explicitly."""
