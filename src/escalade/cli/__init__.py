"""The ``escalade`` command line (Typer + Rich). An edge: nothing in the core imports it.

Each command module imports the parts of escalade it runs inside its command functions, so that
``escalade --help`` (and each command's ``--help``) loads none of them; ``tests/test_import.py``
checks it.
"""

from escalade.cli.app import app, main

__all__ = ["app", "main"]
