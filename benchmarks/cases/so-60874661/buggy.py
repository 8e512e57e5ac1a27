import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)


def load_cifar_like(n):
    # stand-in for CIFAR-10: 32x32 RGB uint8 images, integer labels 0..9
    labels = rng.integers(0, 10, (n, 1))
    protos = np.random.default_rng(42).random((10, 4, 4, 3))
    protos = protos.repeat(8, axis=1).repeat(8, axis=2)
    images = 0.6 * protos[labels[:, 0]] + 0.4 * rng.random((n, 32, 32, 3))
    return (images * 255).astype("uint8"), labels


x_train, y_train = load_cifar_like(800)
x_test, y_test = load_cifar_like(300)

model = keras.Sequential([
    keras.Input(shape=(32, 32, 3)),
    layers.Conv2D(32, (3, 3), activation="relu"),
    layers.MaxPooling2D((2, 2)),
    layers.Conv2D(64, (3, 3), activation="relu"),
    layers.MaxPooling2D((2, 2)),
    layers.Conv2D(64, (3, 3), activation="relu"),
    layers.Flatten(),
    layers.Dense(64, activation="relu"),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=3, batch_size=16, verbose=2)

probs = model.predict(x_test, verbose=0)
pred = np.argmax(probs, axis=1)
print(f"final accuracy: {np.mean(pred == y_test[:, 0]):.4f}")
