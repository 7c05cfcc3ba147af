"""Exact resume after SIGKILL: kill ``kzoo train`` at many steps, resume, compare with the uninterrupted run.

For one small model per family (:data:`FAMILY_RUNS`: latent, GAN with EMA
and DiffAugment, flow with ActNorm, diffusion with EMA and dropout,
autoregressive) the script

1. trains the model without interruption (``kzoo train``, 2 epochs on the
   8x8 ``digits`` data, a cosine learning-rate schedule and early stopping
   so that their states must survive too);
2. for each kill point (a global training step, drawn at random from the
   whole run, so mid-epoch and epoch-boundary kills both occur; fixed by
   ``--seed``), starts the same command in a child process that SIGKILLs
   itself right after that step, then runs the same command again;
   ``--timed-kills N`` adds N kills per family sent from outside at a random
   moment of the run (start-up, a step, a backup being written, the final
   evaluation: wherever the clock falls);
3. compares the resumed run's final weights with the uninterrupted run's
   (exact equality of every array) and checks that the output folder holds
   no partial files.

It prints one line per kill point and a table, and writes JSON with
``--json``. The default suite runs the same check at one kill point per
family (``tests/test_training_resume.py``).

Usage::

    python benchmarks/resume_kill_points.py                       # 5 families x 6 kill points
    python benchmarks/resume_kill_points.py --families gan --kill-points 20 --json runs/resume.json
    python benchmarks/resume_kill_points.py child --kill-at-step 17 -- dcgan --data digits ...
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: One small ``kzoo train`` command (without ``--out``) per family; 23 steps per epoch on digits at batch 64.
COMMON = ["--data", "digits", "--epochs", "2", "--batch-size", "64", "--seed", "3"]
FAMILY_RUNS = {
    "latent": ["vae", *COMMON, "--set", "filters=[8,16]", "--set", "hidden_units=16", "--set", "latent_dim=2",
               "--learning-rate", "0.002", "--lr-schedule", "cosine", "--early-stopping", "1", "--eval-k", "2"],
    "gan": ["dcgan", *COMMON, "--set", "latent_dim=4", "--set", "filters=[8,4]", "--set", "ema_decay=0.9",
            "--set", "augment=translation,cutout"],
    "flow": ["glow", *COMMON, "--set", "num_scales=1", "--set", "steps_per_level=2", "--set", "hidden_units=8",
             "--early-stopping", "1"],
    "diffusion": ["ddpm", *COMMON, "--set", "base_filters=8", "--set", "channel_multipliers=[1]",
                  "--set", "attention_levels=[]", "--set", "middle_attention=false", "--set", "num_train_timesteps=10",
                  "--set", "dropout=0.3", "--set", "ema_decay=0.9"],
    "autoregressive": ["made", *COMMON, "--set", "hidden_units=[32]", "--learning-rate", "0.003",
                       "--lr-schedule", "cosine"],
}
STEPS_PER_EPOCH = 23  # ceil(1,439 digits training images / 64)
EPOCHS = 2


def run_child(kill_at_step, train_args):
    """Runs ``kzoo train`` in this process; SIGKILLs the process right after global step ``kill_at_step``."""
    import keras

    from kzoo import cli, training

    class KillAtStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if kill_at_step is not None and int(self.model.step_counter()) >= kill_at_step:
                os.kill(os.getpid(), signal.SIGKILL)

    original = training.train

    def train_with_kill(*args, **kwargs):
        return original(*args, extra_callbacks=[KillAtStep()], **kwargs)

    training.train = train_with_kill
    return cli.main(["train", *train_args])


def child_command(out, train_args, kill_at_step=None):
    command = [sys.executable, os.path.abspath(__file__), "child"]
    if kill_at_step is not None:
        command += ["--kill-at-step", str(kill_at_step)]
    return command + ["--", *train_args, "--out", str(out)]


def run(command, log):
    with open(log, "ab") as handle:
        return subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, env=dict(os.environ)).returncode


def preset_weights(folder):
    """The weight arrays of a preset folder, in order."""
    from kzoo.core.presets import load_preset

    return load_preset(folder).get_weights()


def same_weights(a, b):
    import numpy as np

    return len(a) == len(b) and all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b))


def leftovers(out):
    """Files an interrupted-then-finished run must not leave: partial saves, backups, locks."""
    return sorted(str(p.relative_to(out)) for p in out.rglob("*")
                  if p.name == "backup" or ".partial" in p.name or p.name.startswith("."))


def run_killed_after(command, log, seconds):
    """Starts ``command`` and SIGKILLs it after ``seconds``; returns its exit status."""
    with open(log, "ab") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=dict(os.environ))
        try:
            return process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            return process.wait()


def _resume_and_compare(family, out, killed_exit, reference, log):
    """Runs the family's command again into ``out`` after a killed run; returns a result dict."""
    from kzoo.callbacks.resume import TrainingBackup

    backup_epochs = TrainingBackup.finished_epochs(out / "backup")
    resumed = run(child_command(out, FAMILY_RUNS[family]), log)
    exact = resumed == 0 and same_weights(preset_weights(out / "preset"), reference)
    return {"family": family, "killed_exit": killed_exit, "backup_epochs": backup_epochs, "resume_exit": resumed,
            "exact": bool(exact), "leftovers": leftovers(out)}


def check_timed_kill(family, seconds, reference, workdir, log):
    """Kills the family's run from outside after ``seconds``, resumes it; returns a result dict."""
    out = workdir / f"{family}-timed{seconds:.1f}"
    shutil.rmtree(out, ignore_errors=True)
    killed = run_killed_after(child_command(out, FAMILY_RUNS[family]), log, seconds)
    return {"kill_after_seconds": round(seconds, 1), **_resume_and_compare(family, out, killed, reference, log)}


def check_kill_point(family, kill_at_step, reference, workdir, log):
    """Kills the family's run after ``kill_at_step``, resumes it; returns a result dict."""
    out = workdir / f"{family}-kill{kill_at_step}"
    shutil.rmtree(out, ignore_errors=True)
    killed = run(child_command(out, FAMILY_RUNS[family], kill_at_step), log)
    return {"kill_at_step": kill_at_step, **_resume_and_compare(family, out, killed, reference, log)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", nargs="+", choices=sorted(FAMILY_RUNS), default=sorted(FAMILY_RUNS))
    parser.add_argument("--kill-points", type=int, default=6, help="kill points per family (default 6)")
    parser.add_argument("--timed-kills", type=int, default=0,
                        help="kills per family sent from outside at a random moment (default 0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill points")
    parser.add_argument("--workdir", help="folder for the runs (default: a temporary folder, removed)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="kzoo-resume-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "runs.log"
    rng = random.Random(args.seed)
    total_steps = STEPS_PER_EPOCH * EPOCHS
    results = []
    start = time.perf_counter()
    for family in args.families:
        reference_out = workdir / f"{family}-reference"
        shutil.rmtree(reference_out, ignore_errors=True)
        began = time.perf_counter()
        if run(child_command(reference_out, FAMILY_RUNS[family]), log) != 0:
            raise SystemExit(f"The uninterrupted {family} run failed; see {log}.")
        duration = time.perf_counter() - began
        reference = preset_weights(reference_out / "preset")
        for _ in range(args.timed_kills):
            result = check_timed_kill(family, rng.uniform(0.1, 0.95) * duration, reference, workdir, log)
            results.append(result)
            print(f"{family:<15} killed from outside after {result['kill_after_seconds']:>5.1f} s of a "
                  f"{duration:.0f} s run: exit {result['killed_exit']}, backup of {result['backup_epochs']} epochs, "
                  f"resumed exit {result['resume_exit']}, {'EXACT' if result['exact'] else 'DIFFERENT'}, "
                  f"leftovers {result['leftovers'] or 'none'} [{time.perf_counter() - start:.0f} s]", flush=True)
        for kill_at_step in sorted(rng.sample(range(1, total_steps), args.kill_points)):
            result = check_kill_point(family, kill_at_step, reference, workdir, log)
            results.append(result)
            print(f"{family:<15} kill after step {kill_at_step:>3} (epoch {kill_at_step // STEPS_PER_EPOCH + 1}, "
                  f"step {kill_at_step % STEPS_PER_EPOCH} of it): killed exit {result['killed_exit']}, backup of "
                  f"{result['backup_epochs']} epochs, resumed exit {result['resume_exit']}, "
                  f"{'EXACT' if result['exact'] else 'DIFFERENT'}, leftovers {result['leftovers'] or 'none'} "
                  f"[{time.perf_counter() - start:.0f} s]", flush=True)
    print("\n| family | kill points | killed by SIGKILL | resumed exactly | runs with leftover files |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for family in args.families:
        rows = [r for r in results if r["family"] == family]
        print(f"| {family} | {len(rows)} | {sum(r['killed_exit'] == -signal.SIGKILL for r in rows)} | "
              f"{sum(r['exact'] for r in rows)} | {sum(bool(r['leftovers']) for r in rows)} |")
    summary = {"kill_points": len(results), "exact": sum(r["exact"] for r in results),
               "with_leftovers": sum(bool(r["leftovers"]) for r in results),
               "seconds": round(time.perf_counter() - start, 1), "results": results}
    print(f"\n{summary['exact']} of {summary['kill_points']} kill points resumed exactly; "
          f"{summary['with_leftovers']} left files behind ({summary['seconds']:.0f} s).")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(summary, indent=1) + "\n")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if summary["exact"] == summary["kill_points"] and not summary["with_leftovers"] else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child = argparse.ArgumentParser()
        child.add_argument("--kill-at-step", type=int)
        child.add_argument("train_args", nargs=argparse.REMAINDER)
        parsed = child.parse_args(sys.argv[2:])
        train_args = parsed.train_args[1:] if parsed.train_args[:1] == ["--"] else parsed.train_args
        sys.exit(run_child(parsed.kill_at_step, train_args))
    sys.exit(main())
