import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# 10000 points generated from a formula
X = rng.uniform(0, 5, (10000, 2)).astype("float32")
y = (3 * X[:, 0] ** 2 + 2 * X[:, 0] * X[:, 1] + X[:, 1]).astype("float32")
X_train, y_train, X_test, y_test = X[:8000], y[:8000], X[8000:], y[8000:]

model = keras.Sequential([
    keras.Input(shape=(2,)),
    layers.Dense(64, activation="relu"),
    layers.Dense(64, activation="relu"),
    layers.Dense(1),
])
model.compile(optimizer=keras.optimizers.SGD(), loss="mse")
model.fit(X_train, y_train, epochs=12, batch_size=32, verbose=2)

pred = model.predict(X_test, verbose=0)[:, 0]
mse = np.mean((pred - y_test) ** 2)
print(f"test mse: {mse:.2f}")
print(f"final r2: {1 - mse / np.var(y_test):.4f}")
