"""``kzoo train --distribute multiworker``: two local workers take the single-process steps; only the chief writes.

Two worker processes on 127.0.0.1 (free ports found by binding to port 0,
one ``TF_CONFIG`` each) train a tiny VAE for two steps on a fixed image
folder, with the helpers of ``benchmarks/multiworker_scaling.py``. The
test then checks, against the same command run in this process without a
strategy:

* the split: worker ``i`` receives the ``i``-th half of every global batch,
  so the two halves put together are exactly the single-process batches;
* the update: the chief's saved weights equal the single-process weights to
  an absolute tolerance of 1e-5 (Adam at 1e-3; the only difference is the
  order in which the all-reduce sums the two halves' gradients, measured at
  about 1e-7);
* the files: the chief wrote the whole run folder (preset, logs, samples,
  history), the other worker's ``--out`` does not exist and its temporary
  folder is gone.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from kzoo import cli, training
from kzoo.core.distribute import chief_task, make_strategy, multiworker_task
from kzoo.core.imaging import save_png

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("multiworker_scaling", ROOT / "benchmarks" / "multiworker_scaling.py")
mw = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mw)

BATCH_SIZE = 8
NUM_IMAGES = 2 * BATCH_SIZE  # two steps in one epoch
TINY_VAE = ["--set", "filters=[8]", "--set", "hidden_units=8", "--set", "latent_dim=2"]
WORKER_TIMEOUT = 300  # seconds for both workers together; measured 40-100 s on 2 shared, busy cores


def image_folder(folder, n=NUM_IMAGES, seed=0):
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        save_png((rng.random((1, 8, 8, 1)) < 0.4).astype(np.float32), folder / f"{i:02d}.png")
    return folder


def train_args(folder):
    return ["vae", "--data", str(folder), "--epochs", "1", "--batch-size", str(BATCH_SIZE),
            "--learning-rate", "1e-3", "--seed", "3", *TINY_VAE]


def preset_weights(folder):
    from kzoo.core.presets import load_preset

    return load_preset(folder).get_weights()


def test_two_workers_take_the_single_process_steps_and_only_the_chief_writes(tmp_path, monkeypatch):
    data = image_folder(tmp_path / "images")
    worker_tmp = tmp_path / "worker-tmp"  # TMPDIR of the workers: a non-chief's scratch folder goes here
    worker_tmp.mkdir()
    try:
        mw.start_local_cluster([[*train_args(data), "--out", tmp_path / f"out-{i}"] for i in range(2)], tmp_path,
                               WORKER_TIMEOUT, extra_env={"TMPDIR": str(worker_tmp)},
                               record_batches=tmp_path / "batches-{index}.npz")
    except mw.WorkerError as err:
        pytest.fail(str(err), pytrace=False)

    # The reference: the same command in this process, without a strategy, on the CPU like the workers.
    datasets = []
    original = training.shard_by_data
    monkeypatch.setattr(training, "shard_by_data", lambda dataset: datasets.append(original(dataset)) or datasets[-1])
    with tf.device("/CPU:0"):
        assert cli.main(["train", *train_args(data), "--out", str(tmp_path / "single")]) == 0
    single_batches = [np.asarray(batch) for batch in datasets[0].take(2)]

    # Worker i got the i-th half of each global batch.
    shares = [np.load(tmp_path / f"batches-{i}.npz") for i in range(2)]
    for step, batch in enumerate(single_batches):
        halves = [share[f"step{step}_replica0"] for share in shares]
        assert [len(h) for h in halves] == [BATCH_SIZE // 2] * 2, [h.shape for h in halves]
        np.testing.assert_array_equal(np.concatenate(halves), batch, err_msg=f"step {step}")

    # The two steps over two workers equal the two single-process steps.
    chief, reference = preset_weights(tmp_path / "out-0" / "preset"), preset_weights(tmp_path / "single" / "preset")
    assert len(chief) == len(reference)
    for a, b in zip(chief, reference):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    card = json.loads((tmp_path / "out-0" / "preset" / "card.json").read_text())
    assert card["distribute"] == "multiworker" and card["epochs"] == 1

    # Only the chief wrote.
    written = sorted(str(p.relative_to(tmp_path / "out-0")) for p in (tmp_path / "out-0").rglob("*") if p.is_file())
    for expected in ("preset/config.json", "preset/model.weights.h5", "preset/card.json", "history.csv",
                     "train_summary.json", "samples/samples_epoch_0001.png"):
        assert expected in written, written
    assert any(name.startswith("logs/train/events.out.tfevents") for name in written), written
    assert not any(name.startswith(("backup", ".lock")) for name in written), written
    assert not (tmp_path / "out-1").exists(), sorted((tmp_path / "out-1").rglob("*"))
    assert not list(worker_tmp.glob("kzoo-worker-*")), sorted(worker_tmp.iterdir())


# ------------------------------------------------------------ TF_CONFIG and the chief, without processes
CLUSTER = {"worker": ["127.0.0.1:2001", "127.0.0.1:2002"]}


def test_a_valid_tf_config_names_the_task():
    config = json.dumps({"cluster": CLUSTER, "task": {"type": "worker", "index": 1}})
    assert multiworker_task(config) == ("worker", 1, 2)
    with_chief = json.dumps({"cluster": {"chief": ["a:1"], **CLUSTER}, "task": {"type": "chief", "index": 0}})
    assert multiworker_task(with_chief) == ("chief", 0, 3)


@pytest.mark.parametrize("text, message", [
    (None, "TF_CONFIG is not set"),
    ("{cluster: 1", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    (json.dumps({"task": {"type": "worker", "index": 0}}), 'no "cluster" object'),
    (json.dumps({"cluster": {"worker": ["localhost"]}, "task": {"type": "worker", "index": 0}}), "host:port"),
    (json.dumps({"cluster": {**CLUSTER, "ps": ["a:1"]}, "task": {"type": "worker", "index": 0}}), r"\['ps'\]"),
    (json.dumps({"cluster": CLUSTER}), 'no "task" object'),
    (json.dumps({"cluster": CLUSTER, "task": {"type": "chief", "index": 0}}), "'chief' is not in its cluster"),
    (json.dumps({"cluster": CLUSTER, "task": {"type": "worker", "index": 2}}), "expected 0 to 1"),
])
def test_a_missing_or_malformed_tf_config_says_what_is_expected(text, message, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match=message) as info:
        multiworker_task(text)
    assert "TF_CONFIG" in str(info.value)


def test_the_command_line_reports_a_missing_tf_config(monkeypatch, capsys):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert cli.main(["train", "vae", "--data", "digits", "--distribute", "multiworker"]) == 2
    err = capsys.readouterr().err
    assert "TF_CONFIG is not set" in err and '"cluster"' in err and '"task"' in err


@pytest.mark.parametrize("task_type, task_id, cluster, expected", [
    ("worker", 0, CLUSTER, True),
    ("worker", 1, CLUSTER, False),
    ("chief", 0, {"chief": ["a:1"], **CLUSTER}, True),
    ("worker", 0, {"chief": ["a:1"], **CLUSTER}, False),
    (None, None, {}, True),
])
def test_the_chief_is_the_chief_task_else_worker_0(task_type, task_id, cluster, expected):
    assert chief_task(task_type, task_id, cluster) is expected


def test_replicas_and_tpu_options_belong_to_their_strategies():
    with pytest.raises(ValueError, match="num_replicas applies to distribute='mirrored'"):
        make_strategy("multiworker", num_replicas=2)
    with pytest.raises(ValueError, match="tpu='v3-8' applies to distribute='tpu'"):
        make_strategy("mirrored", tpu="v3-8")


def test_an_unreachable_tpu_is_a_clear_error(monkeypatch):
    def refuse(tpu=None):
        raise ValueError("Please provide a TPU Name to connect to.")

    monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", refuse)
    with pytest.raises(ValueError, match="Cannot connect to the TPU 'nowhere': Please provide a TPU Name.*grpc://"):
        make_strategy("tpu", tpu="nowhere")
