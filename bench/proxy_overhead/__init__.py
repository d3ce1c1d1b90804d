"""What ``escalade serve`` adds to each chat completion, beside direct calls and LiteLLM's proxy.

    .venv/bin/python -m bench.proxy_overhead            # the full run (a few minutes)
    .venv/bin/python -m bench.proxy_overhead --quick    # a smoke run; writes nothing

(Filled in below.)
"""
