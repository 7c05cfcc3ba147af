"""Start-up time of the ``kzoo`` commands that must answer without TensorFlow.

``kzoo list``, ``kzoo list --models``, ``kzoo --help`` and every
subcommand's ``--help`` read the catalog and the argument parser only; they
must not import TensorFlow (a cold ``import tensorflow`` alone takes seconds).
This script runs each command as a fresh process, ``--repeats`` times, and
reports the median wall time next to two baselines measured in the same run:
an empty Python process (``python -c pass``) and ``import tensorflow``. It
also checks, in each process, that TensorFlow was not imported.

Usage::

    python benchmarks/cli_startup.py --repeats 5 --out runs/cli_startup.json

The table goes to stdout (Markdown), the rows to JSON with ``--out``. Times
are wall-clock seconds on a shared machine: compare a command with the
baselines of the same run.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

#: (label, Python code run in a fresh interpreter). The kzoo rows assert that TensorFlow stayed out.
NO_TF = "; assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'"
COMMANDS = (
    ("python -c pass (baseline)", "pass"),
    ("kzoo list", "import sys, kzoo.cli; kzoo.cli.main(['list'])" + NO_TF),
    ("kzoo list --models", "import sys, kzoo.cli; kzoo.cli.main(['list', '--models'])" + NO_TF),
    ("kzoo --help", "import sys, kzoo.cli\ntry:\n    kzoo.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
     "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'"),
    ("kzoo train --help", "import sys, kzoo.cli\ntry:\n    kzoo.cli.main(['train', '--help'])\nexcept SystemExit:\n"
     "    pass\nassert 'tensorflow' not in sys.modules, 'TensorFlow was imported'"),
    ("import tensorflow (reference)", "import tensorflow"),
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per command (default 5)")
    parser.add_argument("--out", default=None, help="write the rows as JSON to this file")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    return args


def time_process(code):
    """Wall seconds of ``python -c code`` in a fresh process.

    Raises:
        RuntimeError: the process failed (its stderr is in the message).
    """
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{code!r} failed with exit status {done.returncode}:\n{done.stderr[-2000:]}")
    return seconds


def main(argv=None):
    args = parse_args(argv)
    rows = []
    for label, code in COMMANDS:
        times = []
        for repeat in range(args.repeats):
            times.append(time_process(code))
            print(f"  {label}: run {repeat + 1}/{args.repeats} {times[-1]:.3f} s", file=sys.stderr, flush=True)
        rows.append({"command": label, "median_seconds": statistics.median(times), "runs": times})
    baseline = rows[0]["median_seconds"]
    print(f"Median wall time of {args.repeats} fresh processes each (seconds); "
          "'over python' subtracts the empty interpreter's start.")
    print("| command | median (s) | over python (s) |")
    print("|---|---:|---:|")
    for row in rows:
        row["over_python_seconds"] = row["median_seconds"] - baseline
        print(f"| {row['command']} | {row['median_seconds']:.3f} | {row['over_python_seconds']:.3f} |")
    if args.out:
        with open(args.out, "w") as handle:
            json.dump({"repeats": args.repeats, "python": sys.version.split()[0], "rows": rows}, handle, indent=1)
    return rows


if __name__ == "__main__":
    main()
