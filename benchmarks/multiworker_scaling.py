"""Training throughput of one process against two ``--distribute multiworker`` workers on this machine.

For each zoo entry (default ``vae-mnist`` and ``made-mnist``) the script
reads the ``kzoo train`` command of its card (the entry's model, data, batch
size and ``--set`` options; epochs, early stopping and budgets dropped) and
runs it

* once as a single process (``--distribute none``), and
* as two worker processes on 127.0.0.1 (``--distribute multiworker``, one
  ``TF_CONFIG`` per process, free ports picked by binding to port 0),

each for ``--warmup`` steps plus ``--windows`` timed windows of ``--window``
steps. Throughput is examples per second of the whole run (the global batch
times the steps of a window over the window's wall time, measured on the
chief at the end of each step), the median over the windows. With
``--scaling weak`` (default) every worker keeps the entry's batch size, so
two workers train on a global batch twice as large; ``--scaling strong``
keeps the entry's global batch and halves each worker's share. Scaling
efficiency is ``throughput(2) / (2 x throughput(1))``: 1.0 would be perfect
data-parallel scaling.

On a machine with few cores this efficiency is poor, and the figure says so
honestly rather than measuring anything about a real cluster: both workers
share the same CPU cores (each TensorFlow process also runs its own thread
pools over all of them, so they compete instead of adding compute), and
every step ends with a gRPC all-reduce of all gradients between the two
processes on the CPU, which costs time without a second machine's compute
to pay for it. Multi-worker training pays off when each worker has its own
cores or accelerators; run the same script on such machines (one worker per
machine, see the README) to measure that. All processes here run with
``CUDA_VISIBLE_DEVICES=""`` so that two local workers never share one GPU.

The module also holds the helpers that start local workers for
``tests/test_multiworker.py`` (:func:`free_ports`, :func:`tf_configs`,
:func:`worker_command`, :func:`run_workers`), and the ``worker`` child mode
they run.

Usage::

    python benchmarks/multiworker_scaling.py                               # vae-mnist, made-mnist, weak scaling
    python benchmarks/multiworker_scaling.py --entries vae-mnist --warmup 3 --window 5 --windows 3 --out runs/mw.json
    python benchmarks/multiworker_scaling.py worker --stop-after-steps 10 --timing t.json -- vae --data digits ...
"""

import argparse
import json
import math
import os
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ENTRIES = ("vae-mnist", "made-mnist")
#: ``kzoo train`` options of an entry's command the benchmark drops (with their values): it runs a fixed
#: number of steps instead.
DROPPED_OPTIONS = ("--epochs", "--early-stopping", "--max-minutes", "--out", "--init-from", "--lr-schedule",
                   "--monitor", "--eval-k")


class WorkerError(RuntimeError):
    """A worker process failed or ran past its timeout; the message holds every worker's log tail."""


# ------------------------------------------------------------------ local workers
def free_ports(count, host="127.0.0.1"):
    """``count`` distinct free TCP ports on ``host``, found by binding to port 0.

    All sockets stay open until every port is known, so the ports differ;
    they are closed before returning, for the workers to bind.

    Args:
        count: number of ports.
        host: the address to bind.

    Returns:
        A list of ints.
    """
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def tf_configs(ports, host="127.0.0.1"):
    """The ``TF_CONFIG`` JSON text of each worker of a local cluster (worker 0 is the chief).

    Args:
        ports: one port per worker.
        host: the workers' address.

    Returns:
        A list of JSON strings, one per worker.
    """
    cluster = {"worker": [f"{host}:{port}" for port in ports]}
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
            for index in range(len(ports))]


def worker_env(tf_config=None, extra=None):
    """The environment of a worker process: this checkout's ``kzoo`` first, no GPU, quiet TensorFlow.

    Args:
        tf_config: the worker's ``TF_CONFIG`` text, or None to unset it.
        extra: more variables.

    Returns:
        A dict.
    """
    env = dict(os.environ)
    env.pop("TF_CONFIG", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    env["CUDA_VISIBLE_DEVICES"] = ""
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if tf_config is not None:
        env["TF_CONFIG"] = tf_config
    env.update(extra or {})
    return env


def worker_command(train_args, stop_after_steps=None, timing=None, record_batches=None):
    """The command line of one ``worker`` child running ``kzoo train TRAIN_ARGS``.

    Args:
        train_args: the ``kzoo train`` arguments (model first, ``--out`` included).
        stop_after_steps: stop training after this many steps (the same on every worker).
        timing: JSON file for the end time of every step.
        record_batches: ``.npz`` file for this worker's share of the first training batches.

    Returns:
        A list of strings.
    """
    command = [sys.executable, str(Path(__file__).resolve()), "worker"]
    if stop_after_steps is not None:
        command += ["--stop-after-steps", str(stop_after_steps)]
    if timing is not None:
        command += ["--timing", str(timing)]
    if record_batches is not None:
        command += ["--record-batches", str(record_batches)]
    return command + ["--", *[str(a) for a in train_args]]


def _tail(path, lines=40):
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    noise = ("I0000 ", "WARNING: All log messages", "E0000 ")
    return "\n".join([line for line in text if not line.startswith(noise)][-lines:])


def run_workers(commands, envs, logs, timeout):
    """Runs one process per command, together, and waits for all of them.

    A worker that fails leaves the others waiting for it in a collective,
    so the first failure (or the timeout) kills every process still running.

    Args:
        commands: one command line per worker.
        envs: one environment per worker.
        logs: one log file per worker (stdout and stderr).
        timeout: seconds for the whole group.

    Returns:
        The wall time in seconds.

    Raises:
        WorkerError: a worker exited with a non-zero status, or the group
            ran past ``timeout``; the message holds each worker's status
            and the end of its log.
    """
    start = time.monotonic()
    processes = []
    handles = []
    problem = None
    try:
        for command, env, log in zip(commands, envs, logs):
            handle = open(log, "wb")
            handles.append(handle)
            processes.append(subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT))
        while True:
            codes = [p.poll() for p in processes]
            if all(code == 0 for code in codes):
                break
            failed = [i for i, code in enumerate(codes) if code not in (None, 0)]
            if failed:
                problem = f"worker {failed[0]} exited with status {codes[failed[0]]}"
                break
            if time.monotonic() - start > timeout:
                problem = f"the workers ran past the timeout of {timeout:.0f} s"
                break
            time.sleep(0.2)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait()
        for handle in handles:
            handle.close()
    if problem is not None:
        details = "\n".join(f"--- worker {i} (status {p.returncode}), end of {log}:\n{_tail(log)}"
                            for i, (p, log) in enumerate(zip(processes, logs)))
        raise WorkerError(f"{problem}.\n{details}")
    return time.monotonic() - start


def start_local_cluster(train_args_per_worker, workdir, timeout, extra_env=None, **worker_options):
    """Trains with one ``--distribute multiworker`` worker per argument list, on 127.0.0.1.

    Args:
        train_args_per_worker: the ``kzoo train`` arguments of each worker
            (``--distribute multiworker`` is added).
        workdir: folder for the logs (``worker-<i>.log``).
        timeout: seconds for the whole group.
        extra_env: more environment variables of every worker.
        **worker_options: :func:`worker_command` options; a value may hold
            ``{index}``, replaced by the worker's index.

    Returns:
        The wall time in seconds.

    Raises:
        WorkerError: as :func:`run_workers`.
    """
    workdir = Path(workdir)
    configs = tf_configs(free_ports(len(train_args_per_worker)))
    commands, envs, logs = [], [], []
    for index, (train_args, config) in enumerate(zip(train_args_per_worker, configs)):
        options = {k: (str(v).format(index=index) if v is not None else None) for k, v in worker_options.items()}
        commands.append(worker_command([*train_args, "--distribute", "multiworker"], **options))
        envs.append(worker_env(config, extra_env))
        logs.append(workdir / f"worker-{index}.log")
    return run_workers(commands, envs, logs, timeout)


# ------------------------------------------------------------------ the worker child
def run_worker(args):
    """Runs ``kzoo train`` in this process with a step clock and, optionally, a record of its batches.

    Args:
        args: the parsed ``worker`` options: ``train_args``,
            ``stop_after_steps``, ``timing`` (JSON of the end time of every
            step) and ``record_batches`` (``.npz`` of this worker's slice of
            every step's batch, as ``step<s>_replica<r>``).

    Returns:
        The exit status of ``kzoo train``.
    """
    import keras
    import numpy as np

    from kzoo import cli, training

    class StepClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_train_batch_end(self, batch, logs=None):
            for value in (logs or {}).values():  # wait for the step to finish before reading the clock
                float(np.asarray(value).ravel()[0])
                break
            self.times.append(time.perf_counter())
            if args.stop_after_steps is not None and len(self.times) >= args.stop_after_steps:
                self.model.stop_training = True  # a step count, so every worker stops at the same step

    clock = StepClock()
    datasets, trained = [], []
    original_train, original_shard = training.train, training.shard_by_data

    def train(*a, **kw):
        result = original_train(*a, extra_callbacks=[clock], **kw)
        trained.append(result[0])
        return result

    def shard_by_data(dataset):
        dataset = original_shard(dataset)
        datasets.append(dataset)
        return dataset

    training.train, training.shard_by_data = train, shard_by_data
    status = cli.main(["train", *args.train_args])
    if status != 0:
        return status
    if args.timing:
        _write_json(args.timing, {"step_end_times": clock.times})
    if args.record_batches:
        # fit hands the dataset to experimental_distribute_dataset; distribute it the same way and keep this
        # worker's share of the first steps.
        strategy = trained[0].distribute_strategy
        steps = max(1, len(clock.times))
        arrays = {}
        for step, batch in zip(range(steps), strategy.experimental_distribute_dataset(datasets[0])):
            batch = batch[0] if isinstance(batch, tuple) else batch
            for replica, local in enumerate(strategy.experimental_local_results(batch)):
                arrays[f"step{step}_replica{replica}"] = np.asarray(local)
        partial = Path(str(args.record_batches) + ".partial.npz")
        np.savez(partial, **arrays)
        os.replace(partial, args.record_batches)
    return 0


def _write_json(path, payload):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(partial, path)


# ------------------------------------------------------------------ the benchmark
def entry_train_args(entry):
    """The ``kzoo train`` arguments of a zoo entry's card command, without epochs, budgets and output.

    Args:
        entry: a folder name under ``saved_models``.

    Returns:
        ``(train_args, batch_size, data)``.

    Raises:
        ValueError: the entry does not exist or was not trained with ``kzoo train``.
    """
    card_file = ROOT / "saved_models" / entry / "card.json"
    if not card_file.is_file():
        known = sorted(p.name for p in (ROOT / "saved_models").iterdir() if (p / "card.json").is_file())
        raise ValueError(f"No zoo entry {entry!r} (no {card_file}); entries: {', '.join(known)}.")
    command = shlex.split(json.loads(card_file.read_text()).get("command") or "")
    if command[:2] != ["kzoo", "train"]:
        raise ValueError(f"Entry {entry!r} was not trained with `kzoo train` (its command is "
                         f"{' '.join(command)!r}); pick an entry whose card holds a kzoo train command.")
    args, rest = [command[2]], command[3:]
    while rest:
        option = rest.pop(0)
        takes_value = bool(rest) and not rest[0].startswith("--")
        value = rest.pop(0) if takes_value else None
        if option in DROPPED_OPTIONS:
            continue
        args += [option] + ([value] if value is not None else [])
    batch_size = int(args[args.index("--batch-size") + 1]) if "--batch-size" in args else 64
    data = args[args.index("--data") + 1]
    return args, batch_size, data


def _with_batch_size(train_args, batch_size):
    args = list(train_args)
    if "--batch-size" in args:
        args[args.index("--batch-size") + 1] = str(batch_size)
    else:
        args += ["--batch-size", str(batch_size)]
    return args


def throughput(step_end_times, global_batch, warmup, window):
    """Examples per second of each timed window and their median.

    Args:
        step_end_times: the clock at the end of every step.
        global_batch: examples per step over all workers.
        warmup: steps left out at the start (tracing, first all-reduces).
        window: steps per window.

    Returns:
        ``(median, per_window)``.

    Raises:
        ValueError: fewer steps than one window after the warm-up.
    """
    if warmup < 1:
        raise ValueError(f"warmup must be at least 1 step (the first step includes tracing), got {warmup}.")
    times = list(step_end_times)[warmup - 1:]
    windows = [global_batch * window / (times[i + window] - times[i]) for i in range(0, len(times) - window, window)]
    if not windows:
        raise ValueError(f"{len(step_end_times)} steps leave no window of {window} after {warmup} warm-up steps.")
    return statistics.median(windows), windows


def measure(entry, workers, args, workdir):
    """Trains ``entry`` with ``workers`` processes (one process without a strategy for 1) and times it.

    Args:
        entry: zoo entry name.
        workers: number of processes.
        args: the benchmark's parsed options.
        workdir: folder for the runs' outputs and logs.

    Returns:
        A result row (dict) with the median examples per second.

    Raises:
        ValueError: the global batch does not split over the workers.
        WorkerError: a process failed or timed out.
    """
    from kzoo import data as kdata

    train_args, entry_batch, data = entry_train_args(entry)
    global_batch = entry_batch * workers if args.scaling == "weak" else entry_batch
    if global_batch % workers:
        raise ValueError(f"The global batch {global_batch} does not split over {workers} workers.")
    steps = args.warmup + args.windows * args.window
    steps_per_epoch = math.ceil(kdata.info(data).splits["train"] / global_batch)
    epochs = math.ceil((steps + 1) / steps_per_epoch)
    run_args = _with_batch_size(train_args, global_batch) + ["--epochs", str(epochs), "--eval-k", "1"]
    folder = Path(workdir) / f"{entry}-{workers}"
    folder.mkdir(parents=True)
    threads = {} if args.threads is None else {"TF_NUM_INTRAOP_THREADS": str(args.threads),
                                               "TF_NUM_INTEROP_THREADS": str(args.threads)}
    if workers == 1:
        command = worker_command([*run_args, "--out", folder / "out-0"], stop_after_steps=steps,
                                 timing=folder / "timing-0.json")
        wall = run_workers([command], [worker_env(extra=threads)], [folder / "worker-0.log"], args.timeout)
    else:
        wall = start_local_cluster([[*run_args, "--out", folder / f"out-{i}"] for i in range(workers)], folder,
                                   args.timeout, extra_env=threads, stop_after_steps=steps,
                                   timing=folder / "timing-{index}.json")
    times = json.loads((folder / "timing-0.json").read_text())["step_end_times"]
    median, windows = throughput(times, global_batch, args.warmup, args.window)
    return {"entry": entry, "workers": workers, "distribute": "none" if workers == 1 else "multiworker",
            "global_batch": global_batch, "per_worker_batch": global_batch // workers,
            "examples_per_second": median, "windows_examples_per_second": windows,
            "seconds_per_step": global_batch / median, "process_wall_seconds": wall}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["worker"]:
        parser = argparse.ArgumentParser(prog="multiworker_scaling.py worker")
        parser.add_argument("--stop-after-steps", type=int)
        parser.add_argument("--timing")
        parser.add_argument("--record-batches")
        parser.add_argument("train_args", nargs=argparse.REMAINDER)
        args = parser.parse_args(argv[1:])
        args.train_args = args.train_args[1:] if args.train_args[:1] == ["--"] else args.train_args
        return run_worker(args)

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", nargs="+", default=list(DEFAULT_ENTRIES),
                        help="zoo entries whose card commands are run (default: vae-mnist made-mnist)")
    parser.add_argument("--workers", type=int, default=2, help="workers of the distributed run (default 2)")
    parser.add_argument("--scaling", choices=("weak", "strong"), default="weak",
                        help="weak: each worker keeps the entry's batch size; strong: the global batch is kept")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps at the start (default 5)")
    parser.add_argument("--window", type=int, default=10, help="steps per timed window (default 10)")
    parser.add_argument("--windows", type=int, default=3, help="timed windows; the median is reported (default 3)")
    parser.add_argument("--threads", type=int, help="TF_NUM_INTRAOP/INTEROP_THREADS of every process")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run before its processes are killed")
    parser.add_argument("--out", metavar="FILE", help="also write the figures to FILE (JSON)")
    args = parser.parse_args(argv)
    if args.workers < 2:
        parser.error(f"--workers must be at least 2, got {args.workers}")
    if args.warmup < 1 or args.window < 1 or args.windows < 1:
        parser.error("--warmup, --window and --windows must be positive")

    rows = []
    load_before = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPU cores (1-minute load average {load_before:.1f} before the runs); {args.scaling} "
          f"scaling; {args.warmup} warm-up steps, median of {args.windows} windows of {args.window} steps", flush=True)
    with tempfile.TemporaryDirectory(prefix="kzoo-mw-bench-") as workdir:
        for entry in args.entries:
            for workers in (1, args.workers):
                row = measure(entry, workers, args, workdir)
                rows.append(row)
                print(f"{entry}: {workers} worker(s), global batch {row['global_batch']}: "
                      f"{row['examples_per_second']:.0f} examples/s", flush=True)
    for entry in args.entries:
        one, many = [r for r in rows if r["entry"] == entry]
        many["efficiency"] = many["examples_per_second"] / (args.workers * one["examples_per_second"])
        one["efficiency"] = 1.0

    load_after = os.getloadavg()[0]
    print(f"\n1-minute load average after the runs: {load_after:.1f} (other jobs on the machine make the figures "
          "noisy)")
    print()
    print("| entry | workers | global batch | examples/s (median) | s/step | scaling efficiency |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['entry']} | {row['workers']} | {row['global_batch']} | {row['examples_per_second']:.0f} | "
              f"{row['seconds_per_step']:.3f} | {row['efficiency']:.2f} |")
    if args.out:
        _write_json(args.out, {"cpu_count": os.cpu_count(), "load_average": [load_before, load_after],
                               "scaling": args.scaling, "warmup": args.warmup,
                               "window": args.window, "windows": args.windows, "threads": args.threads,
                               "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
