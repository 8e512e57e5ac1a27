import numpy as np
import keras
from keras import layers
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# 1000 recordings of 256 samples; class 1 carries a faster oscillation than class 0
n, length = 1000, 256
labels = rng.integers(0, 2, n)
t = np.arange(length)
freq = np.where(labels == 1, 0.12, 0.05)
phase = rng.uniform(0, 2 * np.pi, n)
X = np.sin(2 * np.pi * freq[:, None] * t[None, :] + phase[:, None]) + 0.8 * rng.standard_normal((n, length))
X = X[..., None].astype("float32")
Y = keras.utils.to_categorical(labels, 2)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.25, random_state=0)

model = keras.Sequential([
    keras.Input(shape=(length, 1)),
    layers.Conv1D(16, 7),
    layers.MaxPooling1D(2),
    layers.Conv1D(16, 5),
    layers.MaxPooling1D(2),
    layers.Conv1D(16, 3),
    layers.Flatten(),
    layers.Dense(16, activation="relu"),
    layers.Dense(2, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="log_cosh", metrics=["accuracy"])
model.fit(X_train, Y_train, epochs=10, batch_size=32, verbose=2)

pred = np.argmax(model.predict(X_test, verbose=0), axis=1)
print(f"final accuracy: {np.mean(pred == np.argmax(Y_test, axis=1)):.4f}")
