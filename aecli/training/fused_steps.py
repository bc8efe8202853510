"""The steps of one call in one XLA program (`hardware.fuse_steps`): a candidate `auto` times
(aecli/training/autotune.py), and what a model whose `fuse_steps` is set trains with
(aecli.models.autoencoder.Autoencoder.make_train_function).

Under Keras' `fit`, `steps_per_execution` runs as a TensorFlow while loop that launches the
XLA-compiled `train_step` once per step: the loop, the iterator and a launch stand between every
two steps. Here the call's batches are pulled first, then one XLA program trains on all of them,
either as an XLA while loop over the stacked batches (`loop`: one compiled step, short
compilation) or with the steps written out one after another (`unrolled`: XLA schedules across
steps, and compiles for longer). Whether either beats Keras' loop depends on the model and the
CPU (inside an XLA loop a convolutional step can run many times slower; docs/speed.md), which is
why they are candidates to measure, not a default.

A call that finds fewer batches than its steps (the last of an epoch) trains exactly those, one
XLA-compiled step each, as Keras' loop would; the callbacks see one call either way, with the
logs of its last step.
"""

# `hardware.fuse_steps` values that fuse, in the order `auto` times them
FORMS = ("loop", "unrolled")


def applies(jit: bool, per_call: int) -> bool:
    """Whether steps can be fused: there must be one XLA program (XLA on) and steps to put in it."""
    return jit and per_call > 1


def train_function(model, form: str):
    """`model.train_function` for `form` (one of FORMS): called with the iterator `fit` pulls
    from, it returns the logs of the call's last step, or raises StopIteration once the iterator
    holds no batch. Only for a model trained on one replica (the XLA rule,
    aecli.training.hardware.plain_steps_only)."""
    import tensorflow as tf  # here: autotune reads FORMS before a command loads TensorFlow

    if form not in FORMS:
        raise ValueError(f"fuse_steps form {form!r}, expected one of {FORMS}")
    per_call = model.steps_per_execution

    def step(batch):
        return model.distribute_strategy.run(model.train_step, args=(batch,))

    @tf.function(jit_compile=True, reduce_retracing=True)
    def one_step(batch):
        return step(batch)

    @tf.function(jit_compile=True, reduce_retracing=True)
    def fused_steps(batches):
        if form == "unrolled":
            for batch in batches:
                logs = step(batch)
            return logs
        stacked = tf.nest.map_structure(lambda *parts: tf.stack(parts), *batches)

        def batch_at(index):
            return tf.nest.map_structure(lambda part: part[index], stacked)

        # the first step outside the loop gives the logs their structure
        logs = step(batch_at(0))
        _, logs = tf.while_loop(
            lambda index, _: index < per_call,
            lambda index, _: (index + 1, step(batch_at(index))),
            (tf.constant(1), logs),
        )
        return logs

    @tf.function
    def pull(iterator):
        optionals = [iterator.get_next_as_optional() for _ in range(per_call)]
        return tf.add_n([tf.cast(o.has_value(), tf.int32) for o in optionals]), optionals

    @tf.function
    def run_fused(optionals):
        return fused_steps(tuple(o.get_value() for o in optionals))

    @tf.function
    def run_one(optional):
        return one_step(optional.get_value())

    def function(iterator):
        if not isinstance(iterator, (tf.data.Iterator, tf.distribute.DistributedIterator)):
            # train_on_batch's one batch, or a Python iterator of batches
            for _, batch in zip(range(per_call), iterator, strict=False):
                logs = one_step(batch)
            return logs
        present, optionals = pull(iterator)
        present = int(present)
        if present == per_call:
            return run_fused(optionals)
        if present == 0:
            raise StopIteration
        for optional in optionals[:present]:  # the batches come in order: the first `present`
            logs = run_one(optional)
        return logs

    return function
