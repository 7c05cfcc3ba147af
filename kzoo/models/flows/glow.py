"""Glow: ActNorm, invertible 1x1 convolutions and affine couplings.

References:
    Kingma & Dhariwal, "Glow: Generative Flow with Invertible 1x1
    Convolutions", NeurIPS 2018 (dequantized MNIST: 1.05 bits/dim).
    Durkan, Bekasov, Murray & Papamakarios, "Neural Spline Flows",
    NeurIPS 2019 (``transform="spline"``: Glow steps with rational-quadratic
    spline couplings).
"""

from kzoo.core.registry import register
from kzoo.core.validation import check_bool, check_non_negative_int, check_positive_int
from kzoo.layers.actnorm import ActNorm
from kzoo.layers.coupling import Coupling
from kzoo.layers.flow_layer import Squeeze
from kzoo.layers.invertible_conv import InvertibleConv1x1
from kzoo.models.flows.base import FlowModel

__all__ = ["Glow"]


@register("glow", family="flows")
class Glow(FlowModel):
    """Glow for images (multi-scale) or vectors.

    Each flow step is ActNorm (data-dependent initialization on the first
    training batch, see :class:`kzoo.layers.ActNorm`), an invertible 1x1
    convolution with an LU-decomposed kernel, and a coupling on the channel
    halves: affine with a sigmoid scale (``exp(log s) = sigmoid(raw + 2)``)
    as in the paper, or a rational-quadratic spline (``transform="spline"``,
    neural spline flows). Image coupling networks are 3x3 -> ``num_blocks``
    residual blocks -> 1x1 -> 3x3 convolutions with ``hidden_units`` channels
    (``num_blocks=0`` is the paper's network).

    Images: ``num_scales`` levels, each a squeeze followed by
    ``steps_per_level`` steps; after every level but the last, half of the
    channels are factored out into ``z``. With ``split_prior=True`` the
    factored-out half gets the paper's learned prior, a Gaussian whose
    mean and scale are computed from the kept half: written as an affine
    coupling that transforms the factored-out half conditioned on the
    kept one (a zero-initialized network, so it starts as the standard
    normal prior). Vectors ``(D,)``: one level of ``steps_per_level`` steps
    with dense coupling networks.

    Args:
        data_shape: ``(H, W, C)`` with H, W divisible by ``2**num_scales``
            (or ``(D,)``, D >= 2).
        num_scales: levels of the multi-scale architecture (images).
        steps_per_level: flow steps per level.
        hidden_units: channels / units of the coupling networks.
        num_hidden: hidden layers of vector coupling networks.
        num_blocks: residual blocks of image coupling networks.
        transform: ``"affine"`` (Glow) or ``"spline"``.
        scale_function: ``"sigmoid"`` (Glow) or ``"tanh"`` (affine only).
        num_bins: spline bins.
        spline_bound: splines act on ``[-spline_bound, spline_bound]``
            (identity outside).
        split_prior: learned conditional prior of factored-out halves
            (images with ``num_scales >= 2``).
        preprocessing: ``"logit"``/``"none"``; ``None``: logit for images.
        logit_alpha: alpha of the logit preprocessing.
        seed: seeds the initial rotations of the 1x1 convolutions.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad options or a ``data_shape`` the squeezes cannot map.
    """

    renamed_arguments = {"num_levels": "num_scales", "hidden": "hidden_units"}

    def __init__(self, data_shape=(28, 28, 1), num_scales=2, steps_per_level=8, hidden_units=64, num_hidden=2,
                 num_blocks=0, transform="affine", scale_function="sigmoid", num_bins=8, spline_bound=4.0,
                 split_prior=False, preprocessing=None, logit_alpha=0.05, seed=0, **kwargs):
        image = len(tuple(data_shape)) == 3
        if preprocessing is None:
            preprocessing = "logit" if image else "none"
        super().__init__(data_shape=data_shape, preprocessing=preprocessing, logit_alpha=logit_alpha, **kwargs)
        if len(self.data_shape) not in (1, 3):
            raise ValueError(f"Glow needs data_shape (H, W, C) or (D,), got {self.data_shape}.")
        self.num_scales = check_positive_int(num_scales, "num_scales")
        self.steps_per_level = check_positive_int(steps_per_level, "steps_per_level")
        for name, value in Coupling.check_network_arguments(
                hidden_units=hidden_units, num_hidden=num_hidden, num_blocks=num_blocks, transform=transform,
                scale_function=scale_function, num_bins=num_bins, spline_bound=spline_bound).items():
            setattr(self, name, value)
        self.split_prior = check_bool(split_prior, "split_prior")
        self.seed = check_non_negative_int(seed, "seed")
        if image:
            factor = 2 ** self.num_scales
            if self.data_shape[0] % factor or self.data_shape[1] % factor:
                raise ValueError(f"data_shape {self.data_shape} must have height and width divisible by "
                                 f"2**num_scales = {factor}.")
        elif self.data_shape[0] < 2:
            raise ValueError(f"Glow on vectors needs D >= 2, got data_shape {self.data_shape}.")
        if self.split_prior and not (image and self.num_scales >= 2):
            raise ValueError(f"split_prior=True needs images and num_scales >= 2 (a factored-out half), got "
                             f"data_shape {self.data_shape} with num_scales={self.num_scales}.")
        self._assemble()

    def get_config(self):
        config = super().get_config()
        config.update({"num_scales": self.num_scales, "steps_per_level": self.steps_per_level,
                       "hidden_units": self.hidden_units, "num_hidden": self.num_hidden, "num_blocks": self.num_blocks,
                       "transform": self.transform, "scale_function": self.scale_function,
                       "num_bins": self.num_bins, "spline_bound": self.spline_bound,
                       "split_prior": self.split_prior, "seed": self.seed})
        return config

    def _steps(self, level):
        image = len(self.data_shape) == 3
        layers = []
        for step in range(self.steps_per_level):
            prefix = f"l{level}_step{step}"
            layers += [
                ActNorm(name=f"{prefix}_actnorm"),
                InvertibleConv1x1(seed=self.seed * 1000 + level * 100 + step, name=f"{prefix}_invconv"),
                Coupling(mask="channel" if image else "half", parity=0, hidden_units=self.hidden_units,
                         num_hidden=self.num_hidden, num_blocks=self.num_blocks, transform=self.transform,
                         scale_function=self.scale_function, num_bins=self.num_bins,
                         spline_bound=self.spline_bound, name=f"{prefix}_coupling"),
            ]
        return layers

    def make_levels(self):
        if len(self.data_shape) == 1:
            return [self._steps(0)]
        levels = []
        for level in range(self.num_scales):
            layers = [Squeeze(name=f"l{level}_squeeze")] + self._steps(level)
            if self.split_prior and level < self.num_scales - 1:
                # parity=1 keeps the second half: the first (factored-out) half is
                # standardized by a mean and scale computed from the kept half.
                layers.append(Coupling(mask="channel", parity=1, hidden_units=self.hidden_units,
                                       num_blocks=self.num_blocks,
                                       scale_function="tanh", name=f"l{level}_split_prior"))
            levels.append(layers)
        return levels
