"""``python -m bench.proxy_overhead``: see the package's docstring."""

from bench.proxy_overhead._run import main

main()
