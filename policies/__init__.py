"""The modelfleet CrossGuard policy pack. `rules/` holds the pure rule functions,
`pack.py` wraps them for Pulumi, `config/<env>.json` configures them per environment."""
