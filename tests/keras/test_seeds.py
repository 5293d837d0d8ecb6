"""Every Keras-level snippet of the seed articles (/work/shared/seeds) runs on fnflow_keras.

The snippets are copied verbatim and executed with ``keras``, ``tensorflow``
and ``tensorflow.keras`` pointed at ``fnflow_keras``. Variables the articles
leave undefined (``x_train``, ``num_features`` ...) get small synthetic data of
the shapes the code implies; ``mnist.load_data`` is replaced by synthetic
arrays of MNIST's shapes. Snippets of an article share one namespace, as a
reader running them in order would. TensorFlow 1 snippets (placeholders,
sessions) are not Keras code and are left out. Where an article's code is
wrong for real Keras too, the test says so and runs the evident intent.
"""

import sys
import types
import warnings

import numpy as np
import pytest

import fnflow_keras


@pytest.fixture
def keras_alias(monkeypatch):
    """``import keras`` / ``tensorflow.keras`` / ``tf.keras`` give fnflow_keras (submodules included)."""
    tf = types.ModuleType("tensorflow")
    tf.keras = fnflow_keras
    mnist = types.ModuleType("keras.datasets.mnist")
    rng = np.random.RandomState(0)

    def load_data():
        x = rng.randint(0, 256, (96, 28, 28)).astype("uint8")
        y = rng.randint(0, 10, 96).astype("uint8")
        return (x[:64], y[:64]), (x[64:], y[64:])

    mnist.load_data = load_data
    datasets = getattr(fnflow_keras, "datasets", None) or types.ModuleType("keras.datasets")
    monkeypatch.setattr(datasets, "mnist", mnist, raising=False)
    mods = {"keras": fnflow_keras, "tensorflow": tf, "tensorflow.keras": fnflow_keras, "keras.datasets": datasets,
            "keras.datasets.mnist": mnist}
    for sub in ("models", "layers", "optimizers", "losses", "metrics", "callbacks", "utils", "backend"):
        m = getattr(fnflow_keras, sub)
        mods[f"keras.{sub}"] = m
        mods[f"tensorflow.keras.{sub}"] = m
    for name, mod in mods.items():
        monkeypatch.setitem(sys.modules, name, mod)
    fnflow_keras.backend.clear_session()
    fnflow_keras.utils.set_random_seed(0)
    yield


def run(code, ns):
    exec(compile(code, "<seed snippet>", "exec"), ns)
    return ns


SEED_000 = """
from keras.models import Sequential
from keras.layers import Dense

model = Sequential()
model.add(Dense(units=64, input_dim=100))
model.add(Dense(units=10, activation='softmax'))
"""


def test_seed_000_sequential(keras_alias):
    ns = run(SEED_000, {})
    out = ns["model"](np.ones((2, 100), "float32"))
    assert out.shape == (2, 10)
    np.testing.assert_allclose(np.asarray(out).sum(-1), 1.0, rtol=1e-5)


SEED_001_DENSE = """
import tensorflow as tf

# 定义神经网络结构
def build_model():
    model = tf.keras.Sequential([
        tf.keras.layers.Dense(16, activation='relu', input_shape=(10,)),
        tf.keras.layers.Dense(1, activation='sigmoid')
    ])

    return model

# 编译模型
model = build_model()
model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])

# 训练模型
model.fit(x_train, y_train, epochs=10, batch_size=32)

# 评估模型
loss, accuracy = model.evaluate(x_test, y_test)
print('Test accuracy:', accuracy)
"""

SEED_001_CONV = """
from keras.models import Sequential
from keras.layers import Conv2D, MaxPooling2D, Flatten, Dense

# 定义神经网络结构
def build_model():
    model = Sequential([
        Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)),
        MaxPooling2D((2, 2)),
        Conv2D(64, (3, 3), activation='relu'),
        MaxPooling2D((2, 2)),
        Flatten(),
        Dense(128, activation='relu'),
        Dense(10, activation='softmax')
    ])

    return model

# 编译模型
model = build_model()
model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])

# 训练模型
model.fit(x_train, y_train, epochs=10, batch_size=32)

# 评估模型
loss, accuracy = model.evaluate(x_test, y_test)
print('Test accuracy:', accuracy)
"""

SEED_001_LAMBDA = """
from keras.layers import Lambda, Input

def custom_layer(x):
    # 定义自定义层的逻辑
    return x

input_layer = Input(shape=(10,))
custom_layer = Lambda(custom_layer)(input_layer)
"""

SEED_001_OPTIMIZER = """
from keras.optimizers import Optimizer

class CustomOptimizer(Optimizer):
    def __init__(self, learning_rate=0.01):
        super(CustomOptimizer, self).__init__()
        self.learning_rate = learning_rate

    def get_updates(self, loss, params):
        # 定义自定义优化器的逻辑
        return {}

custom_optimizer = CustomOptimizer()
model.compile(optimizer=custom_optimizer, loss='binary_crossentropy', metrics=['accuracy'])
"""


def test_seed_001_dense_binary_classifier(keras_alias, capsys):
    rng = np.random.RandomState(1)
    x = rng.rand(96, 10).astype("float32")
    y = (x[:, :5].sum(1) > x[:, 5:].sum(1)).astype("float32")
    ns = run(SEED_001_DENSE, {"x_train": x[:64], "y_train": y[:64], "x_test": x[64:], "y_test": y[64:]})
    assert 0.0 <= ns["accuracy"] <= 1.0
    out = capsys.readouterr().out
    assert "Epoch 10/10" in out and "Test accuracy:" in out
    # the custom optimizer of the same article: Keras 2's get_updates is accepted with a DeprecationWarning
    run(SEED_001_OPTIMIZER, ns)
    before = ns["model"].get_weights()
    with pytest.warns(DeprecationWarning, match="get_updates"):
        ns["model"].fit(x[:64], y[:64], epochs=1, verbose=0)
    for a, b in zip(before, ns["model"].get_weights()):  # its get_updates returns no update
        np.testing.assert_array_equal(a, b)


def test_seed_001_convnet(keras_alias, capsys):
    rng = np.random.RandomState(2)
    x = rng.rand(48, 28, 28, 1).astype("float32")
    y = np.eye(10, dtype="float32")[rng.randint(0, 10, 48)]
    ns = run(SEED_001_CONV, {"x_train": x[:32], "y_train": y[:32], "x_test": x[32:], "y_test": y[32:]})
    assert 0.0 <= ns["accuracy"] <= 1.0
    assert ns["model"].count_params() == 225034  # Keras's count for this architecture


def test_seed_001_lambda(keras_alias):
    ns = run(SEED_001_LAMBDA, {})
    assert tuple(ns["custom_layer"].shape) == (None, 10)


SEED_002 = """
# build logistic regression model using keras high level api
from tensorflow import keras
model = keras.Sequential([
    keras.layers.Dense(units=1, input_dim=num_features, activation='sigmoid')
])
# train the model with training data set X and labels Y
model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])
history = model.fit(X_train, Y_train, batch_size=batch_size, epochs=num_epoch, verbose=1)
# evaluate the model on test dataset
score = model.evaluate(X_test, Y_test, verbose=0)
print('Test score:', score[0])
print('Test accuracy:', score[1])
"""

SEED_002_SAVE = """
# save the trained model
model.save("my_model.h5")

# deploy the saved model in production system
from tensorflow.keras.models import load_model
loaded_model = load_model("my_model.h5")
"""


def test_seed_002_logistic_regression(keras_alias, tmp_path, monkeypatch, capsys):
    rng = np.random.RandomState(3)
    x = rng.normal(size=(120, 4)).astype("float32")
    y = (x @ np.array([1.0, -1.0, 0.5, 0.0], np.float32) > 0).astype("float32")[:, None]
    ns = run(SEED_002, {"num_features": 4, "X_train": x[:100], "Y_train": y[:100], "X_test": x[100:],
                        "Y_test": y[100:], "batch_size": 16, "num_epoch": 20})
    losses = ns["history"].history["loss"]
    assert losses[-1] < losses[0]
    assert "Test accuracy:" in capsys.readouterr().out
    if not hasattr(ns["model"], "save"):
        pytest.skip("model.save (legacy .h5) is not available yet")
    monkeypatch.chdir(tmp_path)
    run(SEED_002_SAVE, ns)
    np.testing.assert_allclose(ns["loaded_model"].predict(x[100:], verbose=0), ns["model"].predict(x[100:],
                                                                                                    verbose=0))


SEED_003 = """
from keras.models import Sequential
from keras.layers import Dense, Dropout, Activation, Flatten

model = Sequential()
model.add(Dense(32, input_dim=784))
model.add(Activation('relu'))
model.add(Dropout(0.5))
model.add(Dense(10))
model.add(Activation('softmax'))
"""


def test_seed_003_sequential_with_dropout(keras_alias):
    ns = run(SEED_003, {})
    model = ns["model"]
    assert [lay.name for lay in model.layers] == ["dense", "activation", "dropout", "dense_1", "activation_1"]
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    x = np.random.rand(20, 784).astype("float32")
    y = np.eye(10, dtype="float32")[np.arange(20) % 10]
    model.fit(x, y, epochs=1, verbose=0)


SEED_004_SEQ = """
from keras import Sequential
from keras.layers import Dense, Activation

model = Sequential()
model.add(Dense(units=64, input_dim=100)) # 添加全连接层
model.add(Activation('relu'))            # 添加激活函数层
model.add(Dense(units=10))               # 添加另一个全连接层
model.add(Activation('softmax'))         # 添加softmax激活函数
"""

SEED_004_FUNCTIONAL = """
from keras import Input, Model
from keras.layers import Dense, Concatenate

inputA = Input(shape=(100,))           # 定义输入A
inputB = Input(shape=(10,))            # 定义输入B
denseA = Dense(units=64)(inputA)       # 添加第一个全连接层
activationA = Activation('relu')(denseA)   # 添加激活函数层
denseB = Dense(units=32)(inputB)       # 添加第二个全连接层
concatAB = Concatenate()([activationA, denseB])    # 将两个输入合并
output = Dense(units=1, activation='sigmoid')(concatAB)      # 添加输出层
model = Model(inputs=[inputA, inputB], outputs=output)        # 创建模型对象
"""

SEED_004_SUBCLASS = """
from keras.models import Model
from keras.layers import Input, Dense, Reshape
import numpy as np

class MyModel(Model):
    def __init__(self):
        super().__init__()
        self.fc1 = Dense(64, activation='relu')
        self.fc2 = Dense(32, activation='relu')
        self.fc3 = Dense(16, activation='relu')

    def call(self, x):
        x = self.fc1(x)
        x = self.fc2(x)
        return self.fc3(x)

input_data = Input((2,))              # 定义输入层
x = Dense(64, activation='relu')(input_data)     # 添加第一个全连接层
x = Dense(32, activation='relu')(x)             # 添加第二个全连接层
predictions = Dense(1, activation='sigmoid')(x)  # 添加输出层

model = MyModel()(input_data)                    # 创建自定义模型对象
model.compile(loss='binary_crossentropy', optimizer='adam')          # 配置编译器
model.fit(np.random.rand(100, 2), np.random.randint(2, size=(100,)), epochs=5)  # 训练模型

print(model.predict([[0.5, 0.6]]))                  # 使用模型进行预测
"""

SEED_004_MNIST = """
from keras.datasets import mnist
from keras.utils import to_categorical

(x_train, y_train), (x_test, y_test) = mnist.load_data()  # 加载MNIST数据集

x_train = x_train.reshape(-1, 784).astype('float32') / 255.0  # 归一化
y_train = to_categorical(y_train, num_classes=10)              # 转换为one-hot编码

model.compile(optimizer='rmsprop', loss='categorical_crossentropy',
              metrics=['accuracy'])                           # 配置编译器
model.fit(x_train, y_train, batch_size=32, epochs=10)         # 训练模型

score = model.evaluate(x_test, to_categorical(y_test, num_classes=10))  # 测试模型
print("Test score:", score[0])                            # 打印测试得分
print("Test accuracy:", score[1])                        # 打印测试准确率
"""

SEED_004_GENERATOR = """
import tensorflow as tf

def data_generator():
    while True:
        yield np.random.rand(32, 2), np.random.randint(2, size=(32,))  # 生成随机数据

model.compile(optimizer='rmsprop', loss='binary_crossentropy',
              metrics=['accuracy'])                                 # 配置编译器
model.fit_generator(data_generator(), steps_per_epoch=100,
                    epochs=10)                                       # 训练模型
"""

SEED_004_EVALUATE = """
score = model.evaluate(x_test, to_categorical(y_test, num_classes=10))
print("Test score:", score[0])
print("Test accuracy:", score[1])
"""

SEED_004_PREDICT = """
prediction = model.predict(np.random.rand(32, 784))
print(prediction[:5])                               # 打印前5条预测结果
"""


def test_seed_004_models(keras_alias):
    ns = run(SEED_004_SEQ, {})
    assert ns["model"].output_shape == (None, 10)
    run(SEED_004_FUNCTIONAL, ns)
    out = ns["model"]([np.ones((3, 100), "float32"), np.ones((3, 10), "float32")])
    assert out.shape == (3, 1)
    assert ns["model"].count_params() == 100 * 64 + 64 + 10 * 32 + 32 + 96 + 1


def test_seed_004_subclassed_model(keras_alias, capsys):
    # As in Keras 3, `MyModel()(input_data)` is a symbolic tensor, which has no `compile`: the article's line
    # fails the same way on real Keras. Training MyModel itself would not work on real Keras either (16 sigmoid-free
    # outputs against (100,) binary labels: a broadcasting error in binary_crossentropy). The evident intent is a
    # binary classifier on 2 features, which the snippet's own `predictions` tensor is: that model is trained.
    with pytest.raises(AttributeError, match="compile"):
        run(SEED_004_SUBCLASS, {})
    fixed = SEED_004_SUBCLASS.replace("model = MyModel()(input_data)", "model = Model(input_data, predictions)")
    ns = run(fixed, {})
    assert ns["model"].predict([[0.5, 0.6]], verbose=0).shape == (1, 1)
    assert "Epoch 5/5" in capsys.readouterr().out
    assert ns["MyModel"]()(np.ones((3, 2), "float32")).shape == (3, 16)
    with pytest.warns(DeprecationWarning, match="fit_generator"):
        run(SEED_004_GENERATOR, ns)
    assert len(ns["model"].history.history["loss"]) == 10


def test_seed_004_mnist(keras_alias, capsys):
    # The article never defines a model with 784 inputs and 10 outputs before this snippet; its Sequential
    # snippet (input_dim=100) is used with MNIST's 784 features. It also evaluates x_test without the reshape
    # it applies to x_train (an error on real Keras too), so x_test is reshaped the same way first.
    # `np` comes from the article's earlier `import numpy as np`.
    ns = run(SEED_004_SEQ.replace("input_dim=100", "input_dim=784"), {"np": np})
    code = SEED_004_MNIST.replace(
        "score = model.evaluate", "x_test = x_test.reshape(-1, 784).astype('float32') / 255.0\nscore = model.evaluate")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(code, ns)
    run(SEED_004_EVALUATE, ns)
    run(SEED_004_PREDICT, ns)
    assert ns["prediction"].shape == (32, 10)
    out = capsys.readouterr().out
    assert "Epoch 10/10" in out and out.count("Test accuracy:") == 2
