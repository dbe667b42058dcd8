"""`python -m modelfleet.cli` runs the same CLI as the `modelfleet` script."""

from modelfleet.cli import main

main()
