"""keras.callbacks: hooks into ``fit``/``evaluate``/``predict`` with Keras's names and behaviour."""

from fnflow_keras.callbacks.callback import Callback, CallbackList
from fnflow_keras.callbacks.early_stopping import EarlyStopping
from fnflow_keras.callbacks.history import History
from fnflow_keras.callbacks.learning_rate_scheduler import LearningRateScheduler
from fnflow_keras.callbacks.misc import CSVLogger, LambdaCallback, TensorBoard, TerminateOnNaN
from fnflow_keras.callbacks.model_checkpoint import ModelCheckpoint
from fnflow_keras.callbacks.progbar_logger import ProgbarLogger
from fnflow_keras.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau

__all__ = ["CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History", "LambdaCallback",
           "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger", "ReduceLROnPlateau", "TensorBoard",
           "TerminateOnNaN"]
