import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# raw integer measurements: x in [50, 2000] -> y in about [600, 4000]
x = rng.integers(50, 2001, (1200, 1)).astype("float32")
y = (600 + 3400 * np.sqrt((x - 50) / 1950) + rng.normal(0, 40, (1200, 1))).astype("float32")
x_train, y_train, x_test, y_test = x[:1000], y[:1000], x[1000:], y[1000:]

model = keras.Sequential([
    keras.Input(shape=(1,)),
    layers.Dense(32, activation="relu"),
    layers.Dense(32, activation="relu"),
    layers.Dense(32, activation="relu"),
    layers.Dense(32, activation="relu"),
    layers.Dense(1),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-4), loss="mse")
model.fit(x_train, y_train, epochs=20, batch_size=32, verbose=0)

pred = model.predict(x_test, verbose=0)
r2 = 1 - np.mean((pred - y_test) ** 2) / np.var(y_test)
print(f"final r2: {r2:.4f}")
