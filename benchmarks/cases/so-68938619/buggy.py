import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
np.random.seed(0)

# binary sequence classification: class 1 sequences sit at a higher level
n, steps = 600, 15
y = np.random.randint(0, 2, n)
level = np.where(y == 1, 0.6, -0.6)[:, None]
X = (level + np.random.normal(0, 1.0, (n, steps)))[..., None].astype("float32")
X_train, y_train, X_test, y_test = X[:480], y[:480], X[480:], y[480:]

model = keras.Sequential()
model.add(keras.Input(shape=(steps, 1)))
model.add(layers.LSTM(32, activation="sigmoid"))
model.add(layers.Dense(1, activation="softmax"))
model.compile(loss="mean_squared_error", optimizer="rmsprop", metrics=["accuracy"])
history = model.fit(X_train, y_train, epochs=8, batch_size=32, verbose=0)
print("loss per epoch:", [round(v, 4) for v in history.history["loss"]])

pred = (model.predict(X_test, verbose=0).ravel() > 0.5).astype(int)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
