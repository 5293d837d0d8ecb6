"""Sequential: layers applied one after the other, through the uniform ``apply`` protocol."""

from __future__ import annotations

import attrs

import fnflow.random as fr
from fnflow.nn.module import Module

__all__ = ["Sequential"]


def _layers(items):
    out = []
    for i, item in enumerate(items):
        # BatchNorm.init returns (layer, state): keep the layer, the state comes from init_state()
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Module):
            item = item[0]
        if not isinstance(item, Module) and not callable(getattr(item, "apply", None)):
            raise TypeError(f"Sequential: item {i} is a {type(item).__name__}, not a fnflow.nn Module")
        out.append(item)
    return tuple(out)


@attrs.frozen
class Sequential(Module):
    """A tuple of layers applied in order (the layers are the pytree's children).

    Each layer is driven by its ``apply(x, state, key=..., training=...)``:

    * ``training`` is passed to every layer;
    * a layer with ``stochastic = True`` (Dropout, MultiHeadAttention, a nested
      stochastic Sequential) gets its own key ``fold_in(key, index)``;
    * a layer with ``stateful = True`` (BatchNorm) gets its entry of ``state``,
      a tuple with one entry per layer (``None`` for stateless layers) made by
      ``model.init_state()``.

    A model without stateful layers is called ``y = model(x, key=k, training=True)``;
    a model with some returns its new state too:
    ``y, state = model(x, state, key=k, training=True)``. ``BatchNorm.init``'s
    ``(layer, state)`` pair may be given directly as an item.
    """

    layers: tuple = attrs.field(converter=_layers)

    @property
    def stateful(self):
        return any(getattr(layer, "stateful", False) for layer in self.layers)

    @property
    def stochastic(self):
        return any(getattr(layer, "stochastic", False) for layer in self.layers)

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(self.layers[i])
        return self.layers[i]

    def __iter__(self):
        return iter(self.layers)

    def init_state(self):
        """One initial state per layer (``None`` for stateless ones), or ``None`` for a stateless model."""
        if not self.stateful:
            return None
        return tuple(layer.init_state() for layer in self.layers)

    def apply(self, x, state=None, *, key=None, training=False):
        stateful = self.stateful
        if stateful:
            if state is None:
                names = [type(la).__name__ for la in self.layers if getattr(la, "stateful", False)]
                raise ValueError(f"Sequential: the model has stateful layers ({', '.join(names)}); pass its state: "
                                 f"y, state = model(x, state, training=...) with state = model.init_state()")
            if not isinstance(state, tuple) or len(state) != len(self.layers):
                raise ValueError(f"Sequential: state must be a tuple with one entry per layer ({len(self.layers)}), "
                                 f"as model.init_state() makes")
        else:
            state = (None,) * len(self.layers)
        new_state = []
        for i, (layer, s) in enumerate(zip(self.layers, state)):
            k = fr.fold_in(key, i) if key is not None and getattr(layer, "stochastic", False) else None
            x, s = layer.apply(x, s, key=k, training=training)
            new_state.append(s)
        return x, (tuple(new_state) if stateful else None)

    def __call__(self, x, state=None, *, key=None, training=False):
        y, new_state = self.apply(x, state, key=key, training=training)
        return (y, new_state) if self.stateful else y
