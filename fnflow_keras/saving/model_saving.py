"""``SavingMixin``: ``Model.save``, ``Model.save_weights`` and ``Model.load_weights`` delegating to keras.saving."""

from __future__ import annotations


class SavingMixin:
    """Mixed into ``Model``: the saving methods of Keras 3's ``Model``."""

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Save the model: ``.keras`` (native zip) or ``.h5`` (legacy HDF5), chosen by the suffix."""
        from fnflow_keras.saving import save_model

        return save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """Save the weights (and optimizer state) to a ``.weights.h5`` file."""
        from fnflow_keras.saving import save_weights

        return save_weights(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Load weights from a ``.weights.h5``, ``.keras`` or legacy ``.h5`` file (``by_name=`` for ``.h5``)."""
        from fnflow_keras.saving import load_weights

        return load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)


__all__ = ["SavingMixin"]
