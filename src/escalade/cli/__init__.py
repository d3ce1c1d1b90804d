"""The ``escalade`` command line (Typer + Rich). An edge: nothing in the core imports it."""

from escalade.cli.app import app, main

__all__ = ["app", "main"]
