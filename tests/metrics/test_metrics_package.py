import os
import subprocess
import sys

import pytest

import kzoo.metrics


def test_public_names():
    for name in (
        "bits_per_dim",
        "nats_to_bits",
        "summarize_nll",
        "frechet_distance",
        "FeatureStatistics",
        "fid_from_features",
        "kernel_inception_distance",
        "mmd2_unbiased",
        "inception_score",
        "precision_recall",
        "clustering_accuracy",
    ):
        assert callable(getattr(kzoo.metrics, name)), name
        assert name in kzoo.metrics.__all__


@pytest.mark.parametrize("package", ["kzoo.metrics", "kzoo.evaluation"])
def test_import_does_not_pull_in_tensorflow(package):
    code = (
        f"import sys, kzoo; before = 'tensorflow' in sys.modules; import {package}; "
        "print(before or 'tensorflow' not in sys.modules)"
    )
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(kzoo.metrics.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo_root, env.get("PYTHONPATH")]))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "True"
