import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# stand-in for the two image folders: class 1 pictures have a bright square in the centre
n, size = 480, 24
y = rng.integers(0, 2, n)
X = rng.uniform(0, 200, (n, size, size, 3))
X[y == 1, 8:16, 8:16, :] += 55
X = (X / 255.0).astype("float32")
X_train, y_train, X_test, y_test = X[:360], y[:360], X[360:], y[360:]

inputs = keras.Input(shape=(size, size, 3))
x = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
x = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
x = layers.MaxPooling2D()(x)
x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
x = layers.MaxPooling2D()(x)
x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
x = layers.MaxPooling2D()(x)
x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
x = layers.Flatten()(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)

model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=10, batch_size=32, validation_data=(X_test, y_test), verbose=2)

pred = (model.predict(X_test, verbose=0).ravel() > 0.5).astype(int)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
