"""Glow: ActNorm, invertible 1x1 convolutions and affine couplings.

References:
    Kingma & Dhariwal, "Glow: Generative Flow with Invertible 1x1
    Convolutions", NeurIPS 2018 (dequantized MNIST: 1.05 bits/dim).
"""

from kzoo.core.registry import register
from kzoo.core.validation import check_choice, check_non_negative_int, check_positive_int
from kzoo.layers.actnorm import ActNorm
from kzoo.layers.coupling import SCALE_FUNCTIONS, Coupling
from kzoo.layers.flow_layer import Squeeze
from kzoo.layers.invertible_conv import InvertibleConv1x1
from kzoo.models.flows.base import FlowModel


@register("glow", family="flows")
class Glow(FlowModel):
    """Glow for images (multi-scale) or vectors.

    Each flow step is ActNorm (data-dependent initialization on the first
    training batch, see :class:`kzoo.layers.ActNorm`), an invertible 1x1
    convolution with an LU-decomposed kernel, and an affine coupling on the
    channel halves whose network is 3x3 -> 1x1 -> 3x3 convolutions with
    ``hidden`` channels and a sigmoid scale (``exp(log s) = sigmoid(raw +
    2)``).

    Images: ``num_levels`` levels, each a squeeze followed by
    ``steps_per_level`` steps; after every level but the last, half of the
    channels are factored out into ``z`` with a standard normal prior (the
    paper's learned conditional prior of the factored-out half is not
    used). Vectors ``(D,)``: one level of ``steps_per_level`` steps with
    dense coupling networks.

    Args:
        data_shape: ``(H, W, C)`` with H, W divisible by ``2**num_levels``
            (or ``(D,)``, D >= 2).
        num_levels: levels (images).
        steps_per_level: flow steps per level.
        hidden: channels / units of the coupling networks.
        num_hidden: hidden layers of vector coupling networks.
        scale_function: ``"sigmoid"`` (Glow) or ``"tanh"``.
        preprocessing: ``"logit"``/``"none"``; ``None``: logit for images.
        logit_alpha: alpha of the logit preprocessing.
        seed: seeds the initial rotations of the 1x1 convolutions.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad options or a ``data_shape`` the squeezes cannot map.
    """

    def __init__(self, data_shape=(28, 28, 1), num_levels=2, steps_per_level=8, hidden=64, num_hidden=2,
                 scale_function="sigmoid", preprocessing=None, logit_alpha=0.05, seed=0, **kwargs):
        image = len(tuple(data_shape)) == 3
        if preprocessing is None:
            preprocessing = "logit" if image else "none"
        super().__init__(data_shape=data_shape, preprocessing=preprocessing, logit_alpha=logit_alpha, **kwargs)
        if len(self.data_shape) not in (1, 3):
            raise ValueError(f"Glow needs data_shape (H, W, C) or (D,), got {self.data_shape}.")
        self.num_levels = check_positive_int(num_levels, "num_levels")
        self.steps_per_level = check_positive_int(steps_per_level, "steps_per_level")
        self.hidden = check_positive_int(hidden, "hidden")
        self.num_hidden = check_positive_int(num_hidden, "num_hidden")
        self.scale_function = check_choice(scale_function, "scale_function", SCALE_FUNCTIONS)
        self.seed = check_non_negative_int(seed, "seed")
        if image:
            factor = 2 ** self.num_levels
            if self.data_shape[0] % factor or self.data_shape[1] % factor:
                raise ValueError(f"data_shape {self.data_shape} must have height and width divisible by "
                                 f"2**num_levels = {factor}.")
        elif self.data_shape[0] < 2:
            raise ValueError(f"Glow on vectors needs D >= 2, got data_shape {self.data_shape}.")
        self._assemble()

    def get_config(self):
        config = super().get_config()
        config.update({"num_levels": self.num_levels, "steps_per_level": self.steps_per_level,
                       "hidden": self.hidden, "num_hidden": self.num_hidden,
                       "scale_function": self.scale_function, "seed": self.seed})
        return config

    def _steps(self, level):
        image = len(self.data_shape) == 3
        layers = []
        for step in range(self.steps_per_level):
            prefix = f"l{level}_step{step}"
            layers += [
                ActNorm(name=f"{prefix}_actnorm"),
                InvertibleConv1x1(seed=self.seed * 1000 + level * 100 + step, name=f"{prefix}_invconv"),
                Coupling(mask="channel" if image else "half", parity=0, hidden=self.hidden,
                         num_hidden=self.num_hidden, scale_function=self.scale_function, name=f"{prefix}_coupling"),
            ]
        return layers

    def make_levels(self):
        if len(self.data_shape) == 1:
            return [self._steps(0)]
        return [[Squeeze(name=f"l{level}_squeeze")] + self._steps(level) for level in range(self.num_levels)]
