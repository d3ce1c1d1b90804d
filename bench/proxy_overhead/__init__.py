"""What ``escalade serve`` adds to each chat completion, beside direct calls and LiteLLM's proxy.

    .venv/bin/python -m bench.proxy_overhead            # the full run (about 10 minutes here)
    .venv/bin/python -m bench.proxy_overhead --quick    # a smoke run (about a minute); writes nothing

Everything runs on loopback, each part in its own process:

- the **fake upstream** (:mod:`._upstream`): a bare asyncio HTTP server answering
  ``/v1/chat/completions`` with a fixed small completion and its ``usage``, after a delay set per
  phase (0 ms, then 20 ms);
- the **targets**, all on that one upstream: ``direct`` (the upstream itself), ``escalade_cheap``
  and ``escalade_auto`` (``escalade serve`` on a new SQLite database, models ``escalade/cheap``
  and ``escalade/auto``, a ladder of one model and one attempt per tier so that ``cheap`` is one
  upstream call), and ``litellm`` (LiteLLM's proxy from its CLI, installed on first use in
  ``bench/.venvs/litellm``, never a dependency of escalade; a one-model ``model_list`` on the fake
  upstream, no database, no callbacks, a master key since it refuses to start without one);
- the **load generator** (:mod:`._load`): a bare HTTP/1.1 client over 100 keep-alive connections.

Each round measures every target in turn, the order rotated each round, with the same request
body (the model name aside), the same upstream and the same concurrency: a closed loop with 100
requests always in flight (its rate is the highest the target holds; its latency is what a client
sees at 100 concurrent requests), then, for the 0 ms upstream, an open loop at a fixed low rate
(what one request costs when the proxy is not saturated). Each run is bounded in requests and
seconds. Added latency is a target's p50/p99 minus the direct calls' in the same round; the
figures are medians over the rounds. Beside latency: the proxy process's CPU time per request
(``/proc``) and the upstream calls per request (the upstream counts them).

The machine has 2 CPUs, shared by the load generator, the upstream, the proxy and whatever else
runs on it (the load average is kept with each round): absolute figures move from run to run, the
side-by-side ratios much less. Goal (issue 16): added latency p50 ≤ 2 ms and p99 ≤ 10 ms at 100
concurrent requests, and below LiteLLM's in the same run. Results: ``bench/results/proxy_overhead.json``.
"""
