"""Every Keras test starts from a fresh session, so default layer names ("dense", "lstm_1" ...) do not
depend on which tests ran before in the same worker."""

import pytest

import fnflow_keras as keras


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    keras.backend.clear_session()
    yield
