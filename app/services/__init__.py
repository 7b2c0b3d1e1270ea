"""Use cases, grouped by what they are for: `engine` (the only code that changes a case),
`front_doors` (each kind's way in), `read_models` (what pages and reports read),
`administration` and `infrastructure`. The only code that commits; each takes the actor
and `now` explicitly."""
