"""Pulumi program entry: `pulumi up --stack <env>` runs modelfleet for that stack's config."""

from modelfleet.program import main

main()
