"""Per-batch callback hooks that do nothing are not called.

Lightning calls every callback's every per-batch hook (six in each training step, two in each
evaluation step), each inside a profiler context, whether or not the callback's class does
anything there: about 2.5 µs a callback a hook on a CPU (more for a ``ModelCheckpoint``, whose name
is built anew for each call). With the dozen callbacks of ``configs/defaults.yaml`` that is a
few per cent of a small model's step. Lightning skips a hook attribute that is not callable, so a
callback whose hook is ``Callback``'s own empty method gets ``None`` in its place on that
instance: nothing that ran before stops running, and ``super()`` calls in subclasses still find
the method on the class.
"""

from lightning.pytorch import Callback, Trainer

BATCH_HOOKS = (
    "on_train_batch_start",
    "on_train_batch_end",
    "on_before_backward",
    "on_after_backward",
    "on_before_optimizer_step",
    "on_before_zero_grad",
    "on_validation_batch_start",
    "on_validation_batch_end",
    "on_test_batch_start",
    "on_test_batch_end",
    "on_predict_batch_start",
    "on_predict_batch_end",
)


def empty_batch_hooks(callback: Callback) -> list[str]:
    """The per-batch hooks ``callback``'s class leaves as ``Callback``'s empty methods (and the
    instance has not been given one of its own)."""
    own = getattr(callback, "__dict__", None)
    if own is None:  # no instance attributes to set (__slots__)
        return []
    return [
        name
        for name in BATCH_HOOKS
        if name not in own and getattr(type(callback), name, None) is getattr(Callback, name)
    ]


def skip_empty_batch_hooks(trainer: Trainer) -> None:
    """Switch off, on each of the trainer's callbacks, the per-batch hooks that do nothing."""
    for callback in trainer.callbacks:
        for name in empty_batch_hooks(callback):
            setattr(callback, name, None)
