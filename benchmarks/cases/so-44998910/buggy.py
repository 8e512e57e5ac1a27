import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# 9100 generated points of one period of a sine wave
x = rng.uniform(0, 1, (9100, 1)).astype("float32")
y = np.sin(2 * np.pi * x).astype("float32")
x_train, y_train, x_test, y_test = x[:8000], y[:8000], x[8000:], y[8000:]

model = keras.Sequential([
    keras.Input(shape=(1,)),
    layers.Dense(64, activation="relu"),
    layers.Dense(64, activation="relu"),
    layers.Dense(64, activation="relu"),
    layers.Dense(1),
])
model.compile(optimizer=keras.optimizers.SGD(), loss="mse")
model.fit(x_train, y_train, epochs=4, batch_size=32, verbose=2)

pred = model.predict(x_test, verbose=0)
r2 = 1 - np.mean((pred - y_test) ** 2) / np.var(y_test)
print(f"final r2: {r2:.4f}")
