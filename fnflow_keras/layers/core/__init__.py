"""Core layers: Dense, Activation, Dropout, Identity, Flatten, Reshape, Permute, RepeatVector, Lambda, Masking,
EinsumDense."""

from fnflow_keras.layers.core.dense import Dense
from fnflow_keras.layers.core.einsum_dense import EinsumDense
from fnflow_keras.layers.core.lambda_layer import Lambda
from fnflow_keras.layers.core.masking import Masking
from fnflow_keras.layers.core.misc import Activation, Dropout, Flatten, Identity, Permute, RepeatVector, Reshape

__all__ = ["Dense", "Activation", "Dropout", "Identity", "Flatten", "Reshape", "Permute", "RepeatVector", "Lambda",
           "Masking", "EinsumDense"]
