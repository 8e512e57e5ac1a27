import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
np.random.seed(0)

timesteps, batch_size = 20, 32
n = 640
y = np.random.randint(0, 2, n)
# class 1 sequences drift upwards, class 0 sequences drift downwards
drift = np.where(y == 1, 0.08, -0.08)[:, None] * np.arange(timesteps)[None, :]
X = (drift + np.random.normal(0, 0.5, (n, timesteps)))[..., None].astype("float32")
X_train, y_train, X_test, y_test = X[:512], y[:512], X[512:], y[512:]

model = keras.Sequential()
model.add(keras.Input(batch_shape=(batch_size, timesteps, 1)))
model.add(layers.LSTM(32, stateful=True))
model.add(layers.Dense(1, activation="softmax"))
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])

for epoch in range(8):
    h = model.fit(X_train, y_train, epochs=1, batch_size=batch_size, shuffle=False, verbose=0)
    model.layers[0].reset_state()
    print("epoch", epoch, "loss", round(h.history["loss"][0], 4), "acc", round(h.history["accuracy"][0], 4))

pred = (model.predict(X_test, batch_size=batch_size, verbose=0).ravel() > 0.5).astype(int)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
