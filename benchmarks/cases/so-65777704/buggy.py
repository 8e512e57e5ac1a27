import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)


def load_cifar_like(n):
    # stand-in for CIFAR-10: 32x32 RGB uint8 images, integer labels 0..9
    labels = rng.integers(0, 10, n)
    protos = np.random.default_rng(42).random((10, 4, 4, 3))
    protos = protos.repeat(8, axis=1).repeat(8, axis=2)
    images = 0.5 * protos[labels] + 0.5 * rng.random((n, 32, 32, 3))
    return (images * 255).astype("uint8"), labels


x_train, y_train = load_cifar_like(2000)
x_test, y_test = load_cifar_like(400)
x_train = x_train.reshape(len(x_train), -1).astype("float32")
x_test = x_test.reshape(len(x_test), -1).astype("float32")

model = keras.Sequential([
    keras.Input(shape=(3072,)),
    layers.Dense(8, activation="sigmoid"),
    layers.Dense(16, activation="sigmoid"),
    layers.Dense(32, activation="sigmoid"),
    layers.Dense(64, activation="sigmoid"),
    layers.Dense(128, activation="sigmoid"),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=25, batch_size=500, verbose=2)

pred = np.argmax(model.predict(x_test, verbose=0), axis=1)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
