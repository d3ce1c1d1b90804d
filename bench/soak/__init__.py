"""A soak of the whole service: 4 ``escalade serve`` replicas on one PostgreSQL, under load and faults.

    .venv/bin/python -m bench.soak                   # the full run (about 6 minutes here); writes the JSON
    .venv/bin/python -m bench.soak --quick           # about 2 minutes: 60 s of traffic; writes nothing
        [--duration S] [--rps N] [--seed N] [--postgres-url URL] [--workdir DIR]   (see --help)

Everything runs on loopback, each part in its own process unless said otherwise:

- a **fresh PostgreSQL database** on ``--postgres-url``'s server (``ESCALADE_TEST_POSTGRES_URL``,
  else ``postgresql+psycopg://postgres@127.0.0.1:5432/test``), dropped at the end even on error;
  the replicas migrate it as they start (``escalade serve`` upgrades the schema on open; procrastinate's
  schema is applied once under an advisory lock);
- the **fake upstream** (``bench/proxy_overhead/_upstream.py``): OpenAI's chat-completions wire
  format, each answer after a log-normal delay (median ``--median-ms`` 120 ms, shape ``--sigma``
  0.6: p99 about 500 ms, at most 3 s), ``--server-errors`` 3 % answered 500/503 and ``--rate-limits``
  3 % answered 429 with ``Retry-After: 1``, drawn from ``--seed``;
- **4 replicas** (``escalade serve``, one process each, distinct ports) on that database, with a
  one-model-per-tier ladder (gpt-4.1-nano / -mini / gpt-4.1, priced by genai-prices; 5xx retried
  twice after 0.2 s, 0.4 s; a 429 climbs to the next tier), ``--workflow-lease 10`` (so a sweep
  every 5 s), ``--hold-ttl 30`` and ``--timeout 10`` (a call is given up at 27 s), caches 1 s;
- the **balancer** (:mod:`._balancer`, in the soak's own process): TCP round robin, each client
  connection pinned to one replica; a refused connection marks that replica down for 1 s and the
  next one is tried at once;
- the **clients** (:mod:`._traffic`, in the soak's process): an open loop, Poisson arrivals at
  ``--rps`` 20 for ``--duration`` 240 s, at most ``--max-requests``, each bounded by ``--timeout`` 30 s,
  at most 200 in flight, latency counted from when the request was due. The mix: 35 % chat
  completions on ``escalade/cheap``, 20 % on ``escalade/auto`` (five prompts, some of which route
  above the cheap tier), 15 % workflow submissions (70 % with ``generate``), 20 % decisions
  (``POST /v1/decisions``), 10 % status reads of workflows accepted earlier (``statistics`` before
  the first), over 4 workspaces drawn uniformly, each with its own key.

**Warm-up.** Before the origin, ``--warmup`` 15 s of the same traffic in the probe workspace
(below), not counted (``warm_up`` gives its causes), so that every replica has built its upstream
clients and warmed its caches; its accepted workflows are checked for loss with the others.

**Caps that bind.** Before the traffic, an uncapped probe workspace measures what a cheap and an auto
call cost; each workspace's monthly cap is then a share of what its part of the traffic would spend
uncapped: 25 %, 50 %, 75 % (these bind during the run, and ``first_budget_refusal_s`` says when) and
300 % (which should not). A refused request is a 402 ``budget_exceeded``.

**Faults.** At a third of the run a replica is killed with SIGKILL: one that is running a workflow
at that moment (waiting up to 5 s for one; else the one the seed draws), so that a workflow must be
taken over and its budget hold reclaimed (``killed`` says which, and whether it was). It is started
again on the same port ``--down`` 5 s later. At two thirds PostgreSQL is restarted: the cluster of
this machine that listens on the URL's port (``pg_lsclusters``), with ``pg_ctlcluster
--skip-systemctl-redirect <version> <cluster> restart`` (fast shutdown: every connection is cut,
other databases' too; point ``--postgres-url`` at a cluster of its own, made with
``pg_createcluster 15 soak -p 5433``, to leave other users of the main one alone). A fault's
``start_s`` is when it was injected and ``recovered_s`` when the service was whole again (the
restarted replica's health check answered 200; PostgreSQL answered a query). PostgreSQL is started
again on the way out whatever happened.

**Settling.** After the last request: wait (at most ``--settle`` 180 s) until every accepted
workflow is terminal; then wait until the latest ``expires_at`` of the holds still ``held`` has
passed by two sweeps and 2 s (at most ``--settle``), and read the database once.

**Figures** (``bench/results/soak.json``):

- ``must_be_zero`` and ``passed`` (the process exits 1 when ``passed`` is false, after writing):
  ``overspend_usd``, summed over the workspaces' month lines of ``max(0, spent - cap)``
  (``overspend_usd_by_workspace`` has each); ``lost_workflows``, submissions answered 2xx (the
  warm-up's too) whose workflow is then missing or not terminal (``completed``, ``failed``,
  ``cancelled``);
  ``unreclaimed_holds``, holds still ``held`` with ``expires_at`` in the past after settling.
- ``ledger``: each month line's cap, spent and reserved, and ``ledger_agrees`` (spent equals the
  bills its holds recorded, reserved the amounts still held); ``holds`` by status, and
  ``held_unexpired``; ``workflows``: final states, ``started_more_than_once`` (taken over after the
  kill), failures by message, ``unacknowledged`` (in the table although the client got no 2xx: a
  submission cut off by a fault after its row was written).
- ``overall``, ``phases`` and ``fault_windows``: per set of requests, counts ``by_cause`` (``ok``;
  ``HTTP <status> <type>/<code>`` from the error body; or the client's exception, such as
  ``ReadTimeout`` or ``RemoteProtocolError``), ``error_rate`` (neither ``ok`` nor a budget refusal,
  over all requests of the set), ``budget_refusal_rate``, and per request kind the requests, the
  answered ones and their latency p50/p90/p99 (``ok_*``: 2xx only), with ``all_p50``/``all_p99``
  over every request (failures at the time they failed, timeouts at 30 s).
- A request belongs to the set its **due time** falls in (seconds after the origin, the moment
  the first request could be due). **Phases** cut ``[0, end)`` at the faults: ``steady.0`` up to
  the kill, ``replica_kill`` (``[start, recovered)``), ``steady.1``, ``postgres_restart``,
  ``steady.2`` up to the last request. **Fault windows**, for each fault: ``before`` =
  ``[max(start - W, previous fault's recovery), start)``, ``during`` = ``[start, recovered)``,
  ``after`` = ``[recovered, min(recovered + W, next fault's start, end))``, W = ``--window`` 20 s.
- ``timeline``: per 10 s of due time, the requests, answered, refused by a cap, errors, and the
  answered ones' p50/p90 latency (every kind together); the run's folder also keeps every request
  as ``records.jsonl``.
- ``workflow_runs``: the same summaries over accepted workflows that finished, each due at its
  creation, its latency the time from creation to finish, its cause ``ok`` (completed) or its state.
- ``errors_sample`` (the first 40 requests that ended neither ``ok`` nor refused by a cap),
  ``balancer`` (connections and refusals per replica), ``upstream`` (calls, 5xx and 429 sent) and
  ``logs`` (each process's log lines by level and logger; ``other``: lines not escalade's JSON,
  such as procrastinate's tracebacks when PostgreSQL goes away).

The machine has 2 CPUs shared by PostgreSQL, the 4 replicas, the upstream and the soak itself
(and whatever else runs: ``load_average`` samples the 1-minute load every 10 s of the traffic);
latencies are what that machine gave, and move from run to run. The correctness figures must not.
"""
