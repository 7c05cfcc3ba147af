"""Device selection of the mirrored strategy: --replicas is honoured on GPUs and CPUs."""

import pytest

from kzoo.core.distribute import make_strategy, mirrored_devices


def test_without_gpus_the_replicas_are_logical_cpus():
    assert mirrored_devices(2, num_gpus=0, num_logical_gpus=0) == ("CPU", None)
    assert make_strategy("mirrored", num_replicas=2).num_replicas_in_sync == 2


@pytest.mark.parametrize("replicas, gpus, logical, expected", [
    (None, 4, 4, ("/device:GPU:0", "/device:GPU:1", "/device:GPU:2", "/device:GPU:3")),
    (2, 4, 4, ("/device:GPU:0", "/device:GPU:1")),
    (1, 1, 1, ("/device:GPU:0",)),
    (2, 1, 2, ("/device:GPU:0", "/device:GPU:1")),  # one GPU split by split_gpu(2)
])
def test_the_first_n_gpus(replicas, gpus, logical, expected):
    assert mirrored_devices(replicas, gpus, logical) == ("GPU", expected)


def test_more_replicas_than_gpus_is_an_error_that_says_how_to_split():
    with pytest.raises(ValueError, match=r"num_replicas=2 but the machine shows 1 GPU\(s\).*split_gpu"):
        mirrored_devices(2, num_gpus=1, num_logical_gpus=1)
    with pytest.raises(ValueError, match="num_replicas=8 but the machine shows 4"):
        mirrored_devices(8, num_gpus=4, num_logical_gpus=4)
    with pytest.raises(ValueError, match="positive integer or None, got 0"):
        mirrored_devices(0, num_gpus=1, num_logical_gpus=1)
