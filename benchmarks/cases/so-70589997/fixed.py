import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
NUM_CLASSES = 101


def load_images(n):
    # stand-in for the 101-category image folders, shrunk to 16x16 RGB
    labels = rng.integers(0, NUM_CLASSES, n)
    protos = np.random.default_rng(42).random((NUM_CLASSES, 4, 4, 3))
    protos = protos.repeat(4, axis=1).repeat(4, axis=2)
    images = 0.7 * protos[labels] + 0.3 * rng.random((n, 16, 16, 3))
    return images.astype("float32"), labels


x_train, y_train = load_images(800)
x_test, y_test = load_images(300)

model = keras.Sequential([
    keras.Input(shape=(16, 16, 3)),
    layers.Conv2D(8, (3, 3), activation="relu", padding="same"),
    layers.Conv2D(16, (3, 3), activation="relu", padding="same"),
    layers.MaxPooling2D((2, 2)),
    layers.Conv2D(32, (3, 3), activation="relu", padding="same"),
    layers.Conv2D(32, (3, 3), activation="relu", padding="same"),
    layers.MaxPooling2D((2, 2)),
    layers.Flatten(),
    layers.Dense(NUM_CLASSES, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=6, batch_size=32, verbose=2)

pred = np.argmax(model.predict(x_test, verbose=0), axis=1)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
