import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# stand-in for the two image folders (24x24 RGB, scaled to [0, 1]); class 1 has a greener centre
n = 600
y = rng.integers(0, 2, n)
X = rng.uniform(0, 1, (n, 24, 24, 3)).astype("float32")
X[y == 1, 6:18, 6:18, 1] += 0.3
X_train, y_train, X_test, y_test = X[:480], y[:480], X[480:], y[480:]

model = keras.Sequential()
model.add(keras.Input(shape=(24, 24, 3)))
model.add(layers.Conv2D(32, (1, 1), activation="relu"))
model.add(layers.Flatten())
model.add(layers.Dense(64, activation="relu"))
model.add(layers.Dropout(0.5))
model.add(layers.Dense(1, activation="sigmoid"))
model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
history = model.fit(X_train, y_train, epochs=10, batch_size=32, verbose=0)
print("loss per epoch:", [round(v, 3) for v in history.history["loss"]])

pred = (model.predict(X_test, verbose=0).ravel() > 0.5).astype(int)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
