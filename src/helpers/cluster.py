"""Where distributed work runs: a Dask cluster, started inside this process by default or reached by address.

:func:`client` yields a :class:`distributed.Client`. By default (scheduler ``"local"`` and no environment
variable :data:`ENV`) it is connected to a :class:`distributed.LocalCluster` that this process starts itself:
one worker process per usable core, one thread each, listening on the loopback interface only. Nothing has to be
started by hand. That cluster is started on first use and shared by every later :func:`client` of the process
(start-up, the workers' imports and their loading of the compiled kernels are paid once), and closed when the
process exits or on :func:`shutdown`. Any other scheduler (``tcp://host:8786``, ``tls://host:8786``), given as
the ``scheduler`` argument or in :data:`ENV`, is an existing cluster: it is checked to be reachable before any
work is submitted, and an unreachable or malformed address raises an error naming it.

:func:`map_cells` runs one function over independent units of work ("cells": the motif census's (network, saved
state) pairs, or any other): one task per cell, results gathered in the order of submission. A task that raises
is retried (``retries``); the tasks of a worker that dies are rescheduled by Dask on the other workers (up to
``distributed.scheduler.allowed-failures`` times). When no worker at all is connected to the scheduler (every
worker of an external cluster died, or none was ever started) for :func:`resolve_timeout` seconds (the
environment variable :data:`TIMEOUT_ENV`, default :data:`NO_WORKER_TIMEOUT_S`), the tasks are cancelled and a
``TimeoutError`` naming the scheduler's address is raised instead of waiting forever. Each task runs the numba
kernels on one thread
(:data:`TASK_THREADS`): a Dask thread is one core, and the kernels give the same numbers on any number of threads,
so results do not depend on how many workers or threads a cluster has.

Nothing is printed unless asked for: the dashboard address (one line) when ``verbose`` is set or an external
scheduler is used, Dask's progress bar with ``progress=True``, both on standard error (in a notebook, where the
rendered page leaves standard error out; a widget instead where ipywidgets is installed). Worker logs below ERROR
are silenced.
"""
from __future__ import annotations

import atexit
import contextlib
import logging
import math
import os
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

#: Environment variable naming the scheduler to use instead of an in-process local cluster.
ENV = "HELPERS_SCHEDULER"
#: The ``scheduler`` value meaning "a LocalCluster started by this process" (unless :data:`ENV` is set).
LOCAL = "local"
#: Address schemes accepted for an existing scheduler.
PROTOCOLS = ("tcp", "tls")
#: Retries of a task that raised (a worker that died is handled by Dask's rescheduling besides).
RETRIES = 2
#: Seconds allowed for reaching and connecting to a scheduler.
CONNECT_TIMEOUT_S = 10.0
#: numba threads of one task: a Dask worker thread stands for one core.
TASK_THREADS = 1
#: Environment variable: seconds :func:`map_cells` waits while no worker is connected before it gives up.
TIMEOUT_ENV = "HELPERS_NO_WORKER_TIMEOUT"
#: Default of that limit, in seconds: long enough for a batch system to replace its workers.
NO_WORKER_TIMEOUT_S = 180.0

_ADDRESS = re.compile(r"^(?P<proto>[a-z]+)://(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]]+):(?P<port>[0-9]{1,5})/?$")
_shared: dict[str, Any] = {"cluster": None}
_lock = threading.Lock()


def usable_cores() -> int:
    """The number of CPU cores this process may run on.

    Returns
    -------
    int
        ``len(os.sched_getaffinity(0))`` where the platform has it (it honours CPU affinity and container CPU
        sets), else ``os.cpu_count()``; at least 1.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                              # not on Linux
        return max(1, os.cpu_count() or 1)


def resolve(scheduler: str | None = None) -> str | None:
    """The address of the scheduler to use, or ``None`` for a local cluster started by this process.

    Parameters
    ----------
    scheduler : str or None
        ``None`` or ``"local"``: the address in the environment variable :data:`ENV` if it is set (and not
        ``"local"``), else a local cluster. Anything else: the address of an existing scheduler,
        ``<protocol>://<host>:<port>`` with a protocol of :data:`PROTOCOLS`.

    Returns
    -------
    str or None
        The address, unchanged (without a trailing ``/``), or ``None``.

    Raises
    ------
    ValueError
        If the address (given or from :data:`ENV`) is malformed, naming it and where it came from.
    """
    value, source = (LOCAL if scheduler is None else scheduler), "parameter 'scheduler'"
    if isinstance(value, str) and value.strip() == LOCAL:
        env = os.environ.get(ENV, "").strip()
        if not env or env == LOCAL:
            return None
        value, source = env, f"environment variable {ENV}"
    match = _ADDRESS.match(value.strip()) if isinstance(value, str) else None
    if match is None or match["proto"] not in PROTOCOLS or not 0 < int(match["port"]) < 65536:
        raise ValueError(f"{source} = {value!r} is invalid: it must be {LOCAL!r} (a cluster started by this "
                         f"process) or a scheduler address <protocol>://<host>:<port> with a protocol of "
                         f"{', '.join(PROTOCOLS)}, e.g. 'tcp://localhost:8786'")
    return value.strip().rstrip("/")


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Make sure something listens at a scheduler address, before any work is prepared for it.

    Parameters
    ----------
    address : str
        A scheduler address as :func:`resolve` returns it (``tcp://host:port`` or ``tls://host:port``).
    timeout : float
        Seconds to wait for the TCP connection.

    Raises
    ------
    ValueError
        If ``address`` is malformed (:func:`resolve`) or means a local cluster (``"local"``).
    ConnectionError
        If no TCP connection to ``address`` can be opened within ``timeout``, naming the address.
    """
    resolved = resolve(address)
    if resolved is None:
        raise ValueError(f"{address!r} names a local cluster, not a scheduler address to reach")
    match = _ADDRESS.match(resolved)
    host = match["host"].strip("[]")
    try:
        socket.create_connection((host, int(match["port"])), timeout=timeout).close()
    except OSError as exc:
        raise ConnectionError(f"cannot reach the Dask scheduler at {address!r} ({type(exc).__name__}: {exc}); "
                              f"start it (`dask scheduler`) and its workers (`dask worker {address} --nthreads 1`), "
                              f"or use scheduler={LOCAL!r} with {ENV} unset for a cluster started by this process"
                              ) from None


def resolve_timeout(value: float | None = None) -> float:
    """How long, in seconds, work on a cluster may wait while no worker is connected before it gives up.

    Parameters
    ----------
    value : float or None
        The limit in seconds; ``None``: the environment variable :data:`TIMEOUT_ENV` if it is set and not blank,
        else :data:`NO_WORKER_TIMEOUT_S`. ``inf`` waits without a limit.

    Returns
    -------
    float
        The limit, a positive number of seconds (possibly ``inf``).

    Raises
    ------
    ValueError
        If the value (given, or from :data:`TIMEOUT_ENV`) is not a positive number, naming it and where it came
        from.
    """
    source = "argument 'no_worker_timeout'"
    if value is None:
        text = os.environ.get(TIMEOUT_ENV, "").strip()
        if not text:
            return NO_WORKER_TIMEOUT_S
        source = f"environment variable {TIMEOUT_ENV}"
        try:
            value = float(text)
        except ValueError:
            value = text
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value) and value > 0
    if not ok:
        raise ValueError(f"{source} = {value!r} is invalid: it must be a positive number of seconds (how long to "
                         f"wait while no Dask worker is connected; inf: without a limit)")
    return float(value)


def _start_local(n_workers: int):
    """A new LocalCluster of ``n_workers`` single-threaded worker processes on the loopback interface."""
    from distributed import LocalCluster

    environ = dict(os.environ)
    try:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
    finally:
        # the nannies set thread-count variables (OMP_NUM_THREADS=1, ...) in this process's environment before
        # spawning their workers; they are meant for the workers only
        for name in set(os.environ) - set(environ):
            del os.environ[name]
        os.environ.update(environ)
    return cluster


def local_cluster(warm: Callable[[], Any] | None = None):
    """The LocalCluster this process shares between its :func:`client` calls, started on first use.

    Parameters
    ----------
    warm : callable or None
        Called (no arguments) in this process before the cluster is started, e.g. to fill an on-disk cache of
        compiled kernels that the workers then load instead of each compiling them again. Not called when the
        shared cluster is already running.

    Returns
    -------
    distributed.LocalCluster
        :func:`usable_cores` worker processes, one thread each; closed at exit or by :func:`shutdown`.
    """
    with _lock:
        cluster = _shared["cluster"]
        if cluster is not None and getattr(cluster.status, "name", "") != "running":
            _close(cluster)
            cluster = _shared["cluster"] = None
        if cluster is None:
            if warm is not None:
                warm()
            cluster = _shared["cluster"] = _start_local(usable_cores())
        return cluster


def _close(cluster) -> None:
    with contextlib.suppress(Exception):
        cluster.close()


def shutdown() -> None:
    """Close the shared local cluster (:func:`local_cluster`), if one is running; its workers exit.

    Returns
    -------
    None
    """
    with _lock:
        cluster, _shared["cluster"] = _shared["cluster"], None
    if cluster is not None:
        _close(cluster)


atexit.register(shutdown)


@contextlib.contextmanager
def client(scheduler: str | None = None, *, n_workers: int | None = None, verbose: bool = False,
           warm: Callable[[], Any] | None = None, timeout: float = CONNECT_TIMEOUT_S) -> Iterator[Any]:
    """A Dask client for the duration of a ``with`` block.

    Parameters
    ----------
    scheduler : str or None
        ``None`` or ``"local"``: the scheduler in the environment variable :data:`ENV` if set, else a local
        cluster; or the address of an existing scheduler (see :func:`resolve`).
    n_workers : int or None
        Local cluster only. ``None``: the cluster shared by this process (:func:`local_cluster`,
        :func:`usable_cores` workers). An int: a cluster of that many single-threaded worker processes of its
        own, closed when the block ends. Ignored for an existing scheduler.
    verbose : bool
        Print the dashboard address (one line). It is always printed for an existing scheduler.
    warm : callable or None
        Called in this process before a local cluster is started (see :func:`local_cluster`).
    timeout : float
        Seconds allowed for reaching and connecting to the scheduler.

    Yields
    ------
    distributed.Client
        Connected to the cluster (not set as the process's default Dask scheduler); closed when the block ends.

    Raises
    ------
    ValueError
        If the scheduler address is malformed, or ``n_workers`` is not a positive integer.
    ConnectionError
        If an existing scheduler cannot be reached or connected to within ``timeout``, naming its address.
    """
    from distributed import Client

    address = resolve(scheduler)
    own = None
    if address is None:
        if n_workers is None:
            target = local_cluster(warm)
        else:
            if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
                raise ValueError(f"n_workers = {n_workers!r} must be a positive integer")
            if warm is not None:
                warm()
            target = own = _start_local(n_workers)
    else:
        check_reachable(address, timeout)
        target = address
    try:
        try:
            dask = Client(target, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(f"cannot connect to the Dask scheduler at {address or target.scheduler_address!r}"
                                  f" ({type(exc).__name__}: {exc})") from None
        try:
            if verbose or address is not None:
                print(f"Dask dashboard: {dask.dashboard_link}", file=sys.stderr, flush=True)
            yield dask
        finally:
            dask.close()
    finally:
        if own is not None:
            _close(own)


def _task(fn: Callable[..., Any], args: tuple, kwargs: Mapping[str, Any], threads: int) -> Any:
    """Run ``fn(*args, **kwargs)`` on a worker with the numba kernels on ``threads`` threads."""
    try:
        import numba
    except ImportError:                                 # pragma: no cover - numba is a requirement
        pass
    else:
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    return fn(*args, **kwargs)


def _in_notebook() -> bool:
    """Whether Dask's progress bar should be a notebook widget (an IPython kernel with ipywidgets)."""
    from distributed.utils import is_kernel

    if not is_kernel():
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def _watch_workers(client: Any, futures: list, limit: float, stop: threading.Event, expired: dict) -> None:
    """Cancel ``futures`` once no worker has been connected to ``client``'s scheduler for ``limit`` seconds.

    Runs in a thread of its own until ``stop`` is set; on expiry it puts the error message in ``expired``.
    """
    poll = min(1.0, limit / 4)
    since = time.monotonic()
    while not stop.wait(poll):
        try:
            connected = bool(client.nthreads())
        except Exception:                              # the scheduler itself is unreachable: no worker either
            connected = False
        now = time.monotonic()
        if connected:
            since = now
        elif now - since >= limit:
            expired["message"] = (
                f"no Dask worker has been connected to the scheduler at {client.scheduler.address} for "
                f"{limit:g} s (the limit set by {TIMEOUT_ENV}, default {NO_WORKER_TIMEOUT_S:g} s): every worker died"
                f" or none was started; start workers (`dask worker {client.scheduler.address} --nthreads 1`) and "
                "run again")
            with contextlib.suppress(Exception):
                client.cancel(futures, msg=expired["message"])
            return


def map_cells(fn: Callable[..., Any], cells: Iterable[tuple], *, client: Any, common: Mapping[str, Any] | None = None,
              progress: bool = False, retries: int = RETRIES, label: str | None = None,
              threads: int = TASK_THREADS, no_worker_timeout: float | None = None) -> list:
    """Run ``fn(*cell, **common)`` for every cell as one task on a Dask cluster; results in the order of ``cells``.

    Parameters
    ----------
    fn : callable
        A function importable on the workers (a module-level function of an installed package; others are sent
        by value). It must not depend on which worker or thread runs it.
    cells : iterable of tuple
        The positional arguments of each call; keep them small (e.g. bit-packed masks, not whole snapshots).
    client : distributed.Client
        From :func:`client`.
    common : mapping or None
        Keyword arguments passed to every call.
    progress : bool
        Show Dask's progress bar (text in a terminal, a widget in a notebook with ipywidgets) until every task
        finished.
    retries : int
        How often a task that raised is run again before its error is raised here.
    label : str or None
        Name of the tasks on the dashboard; ``fn.__name__`` by default.
    threads : int
        numba threads per task (:data:`TASK_THREADS`).
    no_worker_timeout : float or None
        Seconds to wait while no worker is connected to the scheduler before giving up; ``None``: the
        environment variable :data:`TIMEOUT_ENV`, else :data:`NO_WORKER_TIMEOUT_S` (:func:`resolve_timeout`).

    Returns
    -------
    list
        ``fn``'s results, one per cell, in the order of ``cells``.

    Raises
    ------
    ValueError
        If ``no_worker_timeout`` (or :data:`TIMEOUT_ENV`) is not a positive number, before any task is submitted.
    TimeoutError
        If no worker was connected to the scheduler for ``no_worker_timeout`` seconds before every task finished,
        naming the scheduler's address; the tasks are cancelled.
    Exception
        The error of the first task that still failed after its retries (or
        :class:`distributed.KilledWorker` for a task whose workers died too often); the other tasks are
        cancelled then, and on any interruption (e.g. ``KeyboardInterrupt``).
    """
    from distributed import progress as dask_progress

    limit = resolve_timeout(no_worker_timeout)
    cells = list(cells)
    common = dict(common or {})
    prefix = f"{label or getattr(fn, '__name__', 'cell')}-{uuid.uuid4().hex[:8]}"
    futures = []
    stop, expired = threading.Event(), {}
    watchdog = threading.Thread(target=_watch_workers, args=(client, futures, limit, stop, expired),
                                name=f"{prefix}-no-worker-watchdog", daemon=True)
    try:
        for i, cell in enumerate(cells):
            futures.append(client.submit(_task, fn, tuple(cell), common, threads, key=(prefix, i),
                                         retries=retries, pure=False))
        if futures and math.isfinite(limit):
            watchdog.start()
        if progress and futures:
            widget = _in_notebook()
            with contextlib.redirect_stdout(sys.stdout if widget else sys.stderr):   # the text bar: stderr
                dask_progress(futures, notebook=widget, scheduler=client.scheduler.address, interval="1s")
        return client.gather(futures)
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(futures)
        if "message" in expired:
            raise TimeoutError(expired["message"]) from None
        raise
    finally:
        stop.set()
        if watchdog.is_alive():
            watchdog.join()

