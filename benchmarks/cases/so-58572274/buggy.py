import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)

# truth table
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
y = np.array([0, 1, 1, 0], dtype="float32")

model = keras.Sequential()
model.add(keras.Input(shape=(2,)))
model.add(layers.Dense(2, activation="relu"))
model.add(layers.Dense(2, activation="relu"))
model.add(layers.Dense(1, activation="relu"))
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(np.tile(X, (50, 1)), np.tile(y, 50), epochs=10, batch_size=4, verbose=0)

out = model.predict(X, verbose=0).ravel()
print("outputs:", np.round(out, 3))
print(f"final accuracy: {np.mean((out > 0.5) == y):.4f}")
