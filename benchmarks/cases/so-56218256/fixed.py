import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# bag-of-words style 0/1 features; a few hundred "words" are more frequent in class 1 documents
y = rng.integers(0, 2, 1200)
p = np.full((1200, 1000), 0.05)
p[y == 1, :200] = 0.12
X = (rng.random((1200, 1000)) < p).astype("float32")
X_train, y_train, X_test, y_test = X[:1000], y[:1000], X[1000:], y[1000:]

model = keras.Sequential()
model.add(keras.Input(shape=(1000,)))
model.add(layers.Dense(256, activation="relu"))
model.add(layers.Dense(64, activation="relu"))
model.add(layers.Dense(32, activation="relu"))
model.add(layers.Dense(1, activation="sigmoid"))
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
history = model.fit(X_train, y_train, epochs=50, batch_size=1000, verbose=0)
print("first/last loss:", history.history["loss"][0], history.history["loss"][-1])

pred = (model.predict(X_test, verbose=0).ravel() > 0.5).astype(int)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
