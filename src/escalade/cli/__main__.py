"""``python -m escalade.cli``."""

from escalade.cli.app import main

main()
