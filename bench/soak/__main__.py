"""``python -m bench.soak``: see the package's docstring."""

from bench.soak._run import main

main()
