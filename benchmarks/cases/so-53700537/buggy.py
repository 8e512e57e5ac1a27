import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# three kinds of 1-D signals (length 100): slow, medium and fast oscillations
n, length = 2400, 100
labels = rng.integers(0, 3, n)
t = np.linspace(0, 1, length)
freq = np.array([2.0, 5.0, 9.0])[labels][:, None]
X = np.sin(2 * np.pi * freq * t[None, :] + rng.uniform(0, 2 * np.pi, (n, 1)))
X = (X + rng.normal(0, 0.5, (n, length)))[..., None].astype("float32")
Y = keras.utils.to_categorical(labels, 3)
X_train, Y_train, X_test, y_test = X[:2000], Y[:2000], X[2000:], labels[2000:]

inp = keras.Input(shape=(length, 1))
x = layers.Conv1D(16, 5, activation="relu")(inp)
x = layers.Conv1D(16, 5, activation="relu")(x)
x = layers.Conv1D(32, 5, activation="relu")(x)
x = layers.GlobalAveragePooling1D()(x)
out = layers.Dense(3, activation="relu", use_bias=False)(x)
model = keras.Model(inp, out)
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(X_train, Y_train, epochs=1, batch_size=16, verbose=2)

pred = model.predict(X_test, verbose=0).argmax(axis=1)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
