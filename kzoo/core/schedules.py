"""Learning-rate schedules that Keras does not ship.

``ConstantThenLinearDecay`` is the schedule of CycleGAN (Zhu et al. 2017)
and pix2pix: the rate stays constant for the first part of training, then
falls linearly to zero.
"""

import keras

from kzoo.core.validation import check_number, check_positive_int

__all__ = ["ConstantThenLinearDecay"]


@keras.saving.register_keras_serializable(package="kzoo", name="ConstantThenLinearDecay")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``initial_learning_rate`` for ``constant_steps`` steps, then linear to zero over ``decay_steps`` more.

    Args:
        initial_learning_rate: the rate of the constant part, > 0.
        constant_steps: steps at the full rate, >= 0.
        decay_steps: steps of the linear decay, >= 1; the rate is zero from
            step ``constant_steps + decay_steps`` on.

    Raises:
        ValueError: a bad rate or step count.
    """

    def __init__(self, initial_learning_rate, constant_steps, decay_steps):
        self.initial_learning_rate = check_number(initial_learning_rate, "initial_learning_rate", minimum=0,
                                                  exclusive_minimum=True)
        self.constant_steps = check_number(constant_steps, "constant_steps", integer=True, minimum=0)
        self.decay_steps = check_positive_int(decay_steps, "decay_steps")

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        remaining = 1.0 - (step - float(self.constant_steps)) / float(self.decay_steps)
        return self.initial_learning_rate * keras.ops.clip(remaining, 0.0, 1.0)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "constant_steps": self.constant_steps,
                "decay_steps": self.decay_steps}
