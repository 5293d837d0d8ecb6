"""The ``Callback`` base class and ``CallbackList``, which dispatches every hook to a list of callbacks."""

from __future__ import annotations


class Callback:
    """Base class of the callbacks: override the hooks you need.

    ``self.model`` is the model being trained, ``self.params`` a dict with
    ``verbose``, ``epochs`` and ``steps``. Set ``self.model.stop_training = True``
    to stop ``fit`` at the end of the epoch. ``logs`` are dicts of Python floats.
    """

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self._model = model

    @property
    def model(self):
        return self._model

    def on_batch_begin(self, batch, logs=None):
        """Keras 2 alias of :meth:`on_train_batch_begin`."""

    def on_batch_end(self, batch, logs=None):
        """Keras 2 alias of :meth:`on_train_batch_end`."""

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass


_HOOKS = ["on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
          "on_predict_begin", "on_predict_end", "on_train_batch_begin", "on_train_batch_end",
          "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end",
          "on_batch_begin", "on_batch_end"]


class CallbackList(Callback):
    """A list of callbacks called in order; ``fit`` adds History and ProgbarLogger as Keras does."""

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        from fnflow_keras.callbacks.history import History
        from fnflow_keras.callbacks.progbar_logger import ProgbarLogger

        self.callbacks = list(callbacks or [])
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        if add_history:
            hist = next((c for c in self.callbacks if isinstance(c, History)), None)
            if hist is None:
                hist = History()
                self.callbacks.append(hist)
            self._history = hist
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, callback):
        self.callbacks.append(callback)

    def set_params(self, params):
        self.params = params
        for c in self.callbacks:
            c.set_params(params)

    def set_model(self, model):
        self._model = model
        for c in self.callbacks:
            c.set_model(model)


def _dispatch(name):
    def hook(self, *args, **kwargs):
        for c in self.callbacks:
            getattr(c, name)(*args, **kwargs)
    hook.__name__ = name
    return hook


for _name in _HOOKS:
    if _name not in ("on_batch_begin", "on_batch_end"):
        setattr(CallbackList, _name, _dispatch(_name))
