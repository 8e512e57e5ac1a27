# Small CNN on 16x16 synthetic images (pixels already in [0, 1]): horizontal vs vertical vs diagonal bars.
import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)


def make_images(n):
    x = rng.uniform(0, 0.4, size=(n, 16, 16, 1)).astype("float32")
    y = rng.integers(0, 3, size=n)
    for i in range(n):
        k = rng.integers(2, 14)
        if y[i] == 0:
            x[i, k, 2:14, 0] += 0.6
        elif y[i] == 1:
            x[i, 2:14, k, 0] += 0.6
        else:
            idx = np.arange(2, 14)
            x[i, idx, idx, 0] += 0.6
    return np.clip(x, 0, 1), y


x_train, y_train = make_images(600)
x_test, y_test = make_images(200)

model = keras.Sequential([
    keras.Input(shape=(16, 16, 1)),
    layers.Conv2D(8, 3, activation="relu", padding="same"),
    layers.MaxPooling2D(),
    layers.Conv2D(16, 3, activation="relu", padding="same"),
    layers.GlobalMaxPooling2D(),
    layers.Dense(3, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=10, batch_size=32, verbose=0)

pred = model.predict(x_test, verbose=0).argmax(axis=1)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
