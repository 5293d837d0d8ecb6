"""The layers of fnflow.nn, one module per family (see :mod:`fnflow.nn.module` for the protocol)."""

from fnflow.nn.layers.attention import MultiHeadAttention
from fnflow.nn.layers.conv import Conv1D, Conv2D
from fnflow.nn.layers.dropout import Dropout
from fnflow.nn.layers.embedding import Embedding
from fnflow.nn.layers.linear import Dense, Linear
from fnflow.nn.layers.norm import BatchNorm, BatchNormState, LayerNorm
from fnflow.nn.layers.pool import (
           AveragePooling1D,
           AveragePooling2D,
           AvgPool1D,
           AvgPool2D,
           GlobalAvgPool,
           GlobalMaxPool,
           MaxPool1D,
           MaxPool2D,
           MaxPooling1D,
           MaxPooling2D,
)
from fnflow.nn.layers.recurrent import GRU, LSTM, SimpleRNN
from fnflow.nn.layers.reshape import Flatten, Reshape
from fnflow.nn.layers.sequential import Sequential

__all__ = ["Linear", "Dense", "Conv1D", "Conv2D", "MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D",
           "GlobalAvgPool", "GlobalMaxPool", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
           "Dropout", "BatchNorm", "BatchNormState", "LayerNorm", "Embedding", "SimpleRNN",
           "LSTM", "GRU", "MultiHeadAttention", "Flatten", "Reshape", "Sequential"]
