import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

x = rng.uniform(-2, 2, (1000, 1))
y = x ** 2 + 0.05 * rng.standard_normal((1000, 1))
x_train, y_train, x_test, y_test = x[:800], y[:800], x[800:], y[800:]

model = keras.Sequential([
    keras.Input(shape=(1,)),
    layers.Dense(1),
    layers.Dense(5, activation="relu"),
    layers.Dense(1),
])
model.compile(optimizer="adam", loss="mae")
model.fit(x_train, y_train, epochs=30, batch_size=16, verbose=0)

pred = model.predict(x_test, verbose=0)
r2 = 1 - np.mean((pred - y_test) ** 2) / np.var(y_test)
print(f"final r2: {r2:.4f}")
