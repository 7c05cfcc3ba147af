"""RealNVP: affine coupling flows with a multi-scale architecture.

References:
    Dinh, Sohl-Dickstein & Bengio, "Density estimation using Real NVP",
    ICLR 2017 (dequantized MNIST, 50k training images: 1.06 bits/dim).
    Dinh, Krueger & Bengio, "NICE: Non-linear Independent Components
    Estimation", ICLR 2015 workshop.
    Durkan, Bekasov, Murray & Papamakarios, "Neural Spline Flows",
    NeurIPS 2019 (``transform="spline"``).
    Kingma & Dhariwal, "Glow", NeurIPS 2018 (ActNorm, used here in place of
    RealNVP's batch normalization).
"""


from kzoo.core.registry import register
from kzoo.core.validation import check_bool, check_positive_int
from kzoo.layers.actnorm import ActNorm
from kzoo.layers.coupling import Coupling
from kzoo.layers.flow_layer import Squeeze
from kzoo.models.flows.base import FlowModel

__all__ = ["RealNVP"]


@register("realnvp", family="flows")
class RealNVP(FlowModel):
    """RealNVP for images or vectors.

    Images ``(H, W, C)``, ``num_scales`` levels. Every level but the last is
    ``couplings_per_scale`` checkerboard couplings (alternating parity), a
    squeeze, ``couplings_per_scale`` channel couplings (alternating halves),
    after which half of the channels are factored out; the last level is
    ``couplings_per_scale + 1`` checkerboard couplings. Coupling networks
    are 3x3 -> ``num_blocks`` residual blocks -> 1x1 -> 3x3 convolutions
    with ``hidden_units`` channels (the paper's conditioners are deep residual
    networks; ``num_blocks=0`` is the shallow Glow network); the
    log-scale is ``a * tanh(raw)`` with a learned bound ``a``. With
    ``transform="spline"`` the channel couplings are rational-quadratic
    splines (the checkerboard ones stay affine). With the
    default ``preprocessing="logit"`` ``log_prob`` is the density of
    dequantized images on ``[0, 1]^D``.

    Vectors ``(D,)``: ``num_couplings`` couplings alternating which half of
    the vector is transformed, with MLP networks (``num_hidden`` layers of
    ``hidden_units`` units), affine or rational-quadratic spline
    (``transform="spline"``, a neural spline flow).

    With ``actnorm=True`` an :class:`kzoo.layers.ActNorm` follows every
    coupling (and comes first), replacing the paper's batch normalization,
    whose per-replica batch statistics would make a distributed step differ
    from the single-device one.

    Args:
        data_shape: ``(H, W, C)`` with H and W divisible by
            ``2**(num_scales - 1)``, or ``(D,)`` with D >= 2.
        num_scales: levels of the multi-scale architecture (images).
        couplings_per_scale: couplings per group (images).
        num_couplings: couplings (vectors).
        hidden_units: channels / units of the coupling networks.
        num_hidden: hidden layers of vector networks.
        num_blocks: residual blocks of image coupling networks.
        transform: ``"affine"`` or ``"spline"`` (images: the channel
            couplings).
        num_bins: spline bins.
        spline_bound: the spline acts on ``[-spline_bound, spline_bound]``.
        actnorm: interleave ActNorm layers.
        preprocessing: ``"logit"`` or ``"none"``; ``None`` picks ``"logit"``
            for images and ``"none"`` for vectors.
        logit_alpha: alpha of the logit preprocessing.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: bad options or a ``data_shape`` the architecture cannot
            map.
    """

    renamed_arguments = {"hidden": "hidden_units"}

    def __init__(self, data_shape=(28, 28, 1), num_scales=3, couplings_per_scale=3, num_couplings=8,
                 hidden_units=64, num_hidden=2, num_blocks=0, transform="affine", num_bins=8, spline_bound=4.0,
                 actnorm=True, preprocessing=None, logit_alpha=0.05, **kwargs):
        image = len(tuple(data_shape)) == 3
        if preprocessing is None:
            preprocessing = "logit" if image else "none"
        super().__init__(data_shape=data_shape, preprocessing=preprocessing, logit_alpha=logit_alpha, **kwargs)
        if len(self.data_shape) not in (1, 3):
            raise ValueError(f"RealNVP needs data_shape (H, W, C) or (D,), got {self.data_shape}.")
        self.num_scales = check_positive_int(num_scales, "num_scales")
        self.couplings_per_scale = check_positive_int(couplings_per_scale, "couplings_per_scale")
        self.num_couplings = check_positive_int(num_couplings, "num_couplings")
        network = Coupling.check_network_arguments(hidden_units=hidden_units, num_hidden=num_hidden,
                                                   num_blocks=num_blocks, transform=transform, num_bins=num_bins,
                                                   spline_bound=spline_bound)
        del network["scale_function"]  # RealNVP's affine couplings use the tanh-bounded scale
        for name, value in network.items():
            setattr(self, name, value)
        self.actnorm = check_bool(actnorm, "actnorm")
        if image:
            factor = 2 ** (self.num_scales - 1)
            if self.data_shape[0] % factor or self.data_shape[1] % factor:
                raise ValueError(f"data_shape {self.data_shape} must have height and width divisible by "
                                 f"2**(num_scales - 1) = {factor}.")
        elif self.data_shape[0] < 2:
            raise ValueError(f"RealNVP on vectors needs D >= 2, got data_shape {self.data_shape}.")
        self._assemble()

    def get_config(self):
        config = super().get_config()
        config.update({"num_scales": self.num_scales, "couplings_per_scale": self.couplings_per_scale,
                       "num_couplings": self.num_couplings, "hidden_units": self.hidden_units,
                       "num_hidden": self.num_hidden,
                       "num_blocks": self.num_blocks, "transform": self.transform, "num_bins": self.num_bins,
                       "spline_bound": self.spline_bound, "actnorm": self.actnorm})
        return config

    def _with_norm(self, couplings, prefix):
        layers = []
        for index, coupling in enumerate(couplings):
            layers.append(coupling)
            if self.actnorm:
                layers.append(ActNorm(name=f"{prefix}_actnorm_{index}"))
        return layers

    def make_levels(self):
        first = [ActNorm(name="actnorm_in")] if self.actnorm else []
        if len(self.data_shape) == 1:
            couplings = [Coupling(mask="half", parity=i % 2, hidden_units=self.hidden_units,
                                  num_hidden=self.num_hidden, transform=self.transform, num_bins=self.num_bins,
                                  spline_bound=self.spline_bound, name=f"coupling_{i}")
                         for i in range(self.num_couplings)]
            return [first + self._with_norm(couplings, "coupling")]
        levels, n = [], self.couplings_per_scale
        for scale in range(self.num_scales):
            last = scale == self.num_scales - 1
            count = n + 1 if last else n
            board = [Coupling(mask="checkerboard", parity=i % 2, hidden_units=self.hidden_units,
                              num_blocks=self.num_blocks, name=f"s{scale}_board_{i}")
                     for i in range(count)]
            level = self._with_norm(board, f"s{scale}_board")
            if not last:
                level.append(Squeeze(name=f"s{scale}_squeeze"))
                channel = [Coupling(mask="channel", parity=i % 2, hidden_units=self.hidden_units,
                                    num_blocks=self.num_blocks, transform=self.transform, num_bins=self.num_bins,
                                    spline_bound=self.spline_bound, name=f"s{scale}_channel_{i}")
                           for i in range(n)]
                level += self._with_norm(channel, f"s{scale}_channel")
            levels.append(level)
        levels[0] = first + levels[0]
        return levels
