"""Training guards: stop at the first non-finite loss; warn when a GAN stops learning.

``keras.callbacks.TerminateOnNaN`` watches only ``loss``, which adversarial
models never log, and ends training through ``on_train_end``, which lets a
backup callback delete its state. :class:`NonFiniteGuard` watches every
value the model logs and raises :class:`NonFiniteLossError` from the batch
that went non-finite: ``fit`` stops at once, no later callback writes
anything, and the last epoch's backup stays on disk.
"""

import math
import warnings

import keras

from kzoo.core.validation import check_number, check_positive_int

__all__ = ["NonFiniteLossError", "NonFiniteGuard", "GANDivergenceMonitor"]


class NonFiniteLossError(FloatingPointError):
    """A logged loss became NaN or infinite during ``fit``.

    Attributes:
        key: the log key (``"loss"``, ``"d_loss"``, ``"val_g_loss"`` ...).
        value: the non-finite value.
        epoch: 1-based epoch.
        step: 1-based step within the epoch, or None for an epoch-end value.
        advice: what to do next (appended to the message), or None.
    """

    def __init__(self, key, value, epoch, step, advice=None):
        self.key, self.value, self.epoch, self.step, self.advice = key, value, epoch, step, advice
        where = f"epoch {epoch}, step {step}" if step is not None else f"the end of epoch {epoch}"
        message = f"{key!r} became {value} at {where}; training stopped."
        super().__init__(message + (f" {advice}" if advice else ""))


def _non_finite(logs):
    for key, value in (logs or {}).items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(number):
            return key, number
    return None


class NonFiniteGuard(keras.callbacks.Callback):
    """Raises :class:`NonFiniteLossError` at the first NaN/Inf value in the logs.

    Every key of the batch logs (all losses and diagnostics the model
    tracks) and of the epoch logs (validation values included) is checked.
    Put it first in the callback list so that no other callback sees the
    non-finite step.
    """

    def __init__(self):
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        bad = _non_finite(logs)
        if bad:
            raise NonFiniteLossError(bad[0], bad[1], self.epoch + 1, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        bad = _non_finite(logs)
        if bad:
            raise NonFiniteLossError(bad[0], bad[1], epoch + 1, None)


class GANDivergenceMonitor(keras.callbacks.Callback):
    """Warns when an adversarial model's training has stopped making progress.

    Two signs, each over ``patience`` consecutive steps: the discriminator
    loss stays below ``d_loss_floor`` (the discriminator wins outright; only
    checked while the loss has never been negative, as Wasserstein critic
    losses can be), or the generator's gradient norm ``g_grad_norm`` stays
    below ``grad_floor`` (the generator gets no signal). The batch logs of
    ``fit`` hold running means over the epoch; the per-step values are
    recovered from consecutive means. Each sign warns once per ``fit``
    (``RuntimeWarning``) and is listed in :attr:`warnings`.

    Args:
        patience: consecutive steps a sign must hold.
        d_loss_floor: discriminator-loss level counted as "at zero".
        grad_floor: generator gradient-norm level counted as "vanished".

    Raises:
        ValueError: ``patience`` is not a positive integer or a floor is
            not a positive number.
    """

    def __init__(self, patience=200, d_loss_floor=1e-3, grad_floor=1e-6):
        super().__init__()
        self.patience = check_positive_int(patience, "patience")
        self.d_loss_floor = check_number(d_loss_floor, "d_loss_floor", minimum=0, exclusive_minimum=True,
                                         description="a positive number")
        self.grad_floor = check_number(grad_floor, "grad_floor", minimum=0, exclusive_minimum=True,
                                       description="a positive number")
        self.warnings = []

    def on_train_begin(self, logs=None):
        self.warnings = []
        self._runs = {"d_loss": 0, "g_grad_norm": 0}
        self._d_loss_negative = False
        self._warned = set()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._previous_means = {}

    def _step_value(self, key, batch, mean):
        previous = self._previous_means.get(key)
        self._previous_means[key] = mean
        return mean if batch == 0 or previous is None else mean * (batch + 1) - previous * batch

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        for key, floor in (("d_loss", self.d_loss_floor), ("g_grad_norm", self.grad_floor)):
            if key not in logs:
                continue
            value = self._step_value(key, batch, float(logs[key]))
            if key == "d_loss" and value < 0:
                self._d_loss_negative = True
            stuck = abs(value) < floor and not (key == "d_loss" and self._d_loss_negative)
            self._runs[key] = self._runs[key] + 1 if stuck else 0
            if self._runs[key] >= self.patience and key not in self._warned:
                self._warned.add(key)
                what = ("the discriminator loss has been below {floor:g} (the discriminator wins outright)"
                        if key == "d_loss" else
                        "the generator's gradient norm has been below {floor:g} (the generator gets no signal)")
                message = (f"GAN training may have diverged: {what.format(floor=floor)} for {self.patience} "
                           f"steps, up to epoch {self.epoch + 1}, step {batch + 1}. Try a lower discriminator "
                           "learning rate, a gradient penalty, or restart from the last good backup.")
                self.warnings.append(message)
                warnings.warn(message, RuntimeWarning, stacklevel=2)
