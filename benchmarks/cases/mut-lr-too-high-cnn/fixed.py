import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)


def make_images(n):
    """16x16 grey images of four shapes at random positions: h-bar, v-bar, diagonal, square."""
    X = rng.normal(0.0, 0.3, size=(n, 16, 16, 1)).astype("float32")
    y = rng.integers(0, 4, size=n)
    for i, c in enumerate(y):
        r, k = rng.integers(3, 13, size=2)
        if c == 0:
            X[i, r, 2:14, 0] += 1.0
        elif c == 1:
            X[i, 2:14, k, 0] += 1.0
        elif c == 2:
            d = np.arange(10)
            X[i, d + 3, d + 3, 0] += 1.0
        else:
            X[i, r - 2:r + 2, k - 2:k + 2, 0] += 1.0
    return X, y


X_train, y_train = make_images(1200)
X_test, y_test = make_images(400)

model = keras.Sequential([
    keras.Input(shape=(16, 16, 1)),
    layers.Conv2D(16, 3, activation="relu", padding="same"),
    layers.MaxPooling2D(2),
    layers.Conv2D(32, 3, activation="relu", padding="same"),
    layers.GlobalMaxPooling2D(),
    layers.Dense(32, activation="relu"),
    layers.Dense(4, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=10, batch_size=32, verbose=2)

pred = np.argmax(model.predict(X_test, verbose=0), axis=1)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
