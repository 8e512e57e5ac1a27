import numpy as np
import keras
from keras import layers
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# 50-sample signals; the target is a signed quantity (e.g. a phase shift)
n, length = 1500, 50
t = np.linspace(0, 4 * np.pi, length)
shift = rng.uniform(-1.5, 1.5, n)
amp = rng.uniform(0.5, 2.0, n)
X = (amp[:, None] * np.sin(t[None, :] + shift[:, None]) + 0.1 * rng.standard_normal((n, length)))[..., None]
y = shift * amp
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

model = keras.Sequential([
    keras.Input(shape=(length, 1)),
    layers.Conv1D(16, 5, activation="relu"),
    layers.Conv1D(16, 5, activation="relu"),
    layers.Conv1D(16, 5, activation="relu"),
    layers.Flatten(),
    layers.Dense(256, activation="relu"),
    layers.Dense(64, activation="relu"),
    layers.Dense(32, activation="relu"),
    layers.Dense(1),
])
model.compile(optimizer="adam", loss="mse")
model.fit(X_train, y_train, epochs=15, batch_size=32, verbose=0)

pred = model.predict(X_test, verbose=0)[:, 0]
r2 = 1 - np.mean((pred - y_test) ** 2) / np.var(y_test)
print(f"final r2: {r2:.4f}")
