"""Precision policies: which ones a machine computes natively, and the warning for the others."""

import keras
import pytest

from kzoo.core import precision as kp


def test_cpu_flags_reads_the_flags_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\nbugs\t\t: none\n")
    assert kp.cpu_flags(str(info)) == {"fpu", "avx2", "avx512_bf16"}
    assert kp.cpu_flags(str(tmp_path / "missing")) == set()


@pytest.mark.parametrize("machine, native", [
    (dict(kind="cpu", flags={"avx2", "fma"}), ("float32",)),
    (dict(kind="cpu", flags={"avx512_bf16"}), ("mixed_bfloat16", "float32")),
    (dict(kind="cpu", flags={"amx_bf16", "amx_fp16"}), ("mixed_bfloat16", "mixed_float16", "float32")),
    (dict(kind="gpu", capabilities=[(6, 1)]), ("float32",)),
    (dict(kind="gpu", capabilities=[(7, 5)]), ("mixed_float16", "float32")),
    (dict(kind="gpu", capabilities=[(8, 0), (9, 0)]), ("mixed_float16", "mixed_bfloat16", "float32")),
    (dict(kind="gpu", capabilities=[(8, 0), (7, 0)]), ("mixed_float16", "float32")),  # the slowest GPU decides
    (dict(kind="gpu", capabilities=[]), ("float32",)),
    (dict(kind="tpu"), ("mixed_bfloat16", "float32")),
])
def test_native_precisions_and_the_recommended_one(machine, native):
    assert kp.native_precisions(**machine) == native
    assert kp.recommended_precision(**machine) == native[0]


def test_an_emulated_precision_gets_a_warning_that_names_the_missing_hardware():
    text = kp.precision_warning("mixed_bfloat16", kind="cpu", flags={"avx2"})
    assert "mixed_bfloat16" in text and "AVX512_BF16 or AMX_BF16" in text and "'float32'" in text
    text = kp.precision_warning("mixed_bfloat16", kind="gpu", capabilities=[(7, 5)])
    assert "compute capability 8.0" in text and "'mixed_float16'" in text
    assert kp.precision_warning("mixed_bfloat16", kind="cpu", flags={"avx512_bf16"}) is None
    assert kp.precision_warning("mixed_float16", kind="gpu", capabilities=[(8, 6)]) is None
    assert kp.precision_warning("float32", kind="cpu", flags=set()) is None


def test_precision_scope_sets_and_restores_the_policy():
    with kp.precision_scope("mixed_bfloat16"):
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"
    with pytest.raises(ValueError, match="precision must be one of .*got 'auto'"):
        with kp.precision_scope("auto"):
            pass
