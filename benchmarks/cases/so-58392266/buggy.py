import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(1)

# 16x16 RGB crops, flattened; class 1 crops are redder
n = 800
y = rng.integers(0, 2, n)
imgs = rng.integers(0, 256, (n, 16, 16, 3)).astype("float32")
imgs[y == 1, :, :, 0] = np.clip(imgs[y == 1, :, :, 0] + 60, 0, 255)
X = imgs.reshape(n, -1) / 255.0
X_train, y_train, X_test, y_test = X[:600], y[:600], X[600:], y[600:]

model = keras.Sequential([
    keras.Input(shape=(X.shape[1],)),
    layers.Dense(512, activation="relu"),
    layers.Dense(128, activation="relu"),
    layers.Dense(1, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-5), loss="binary_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=10, batch_size=32, verbose=0)

pred = (model.predict(X_test, verbose=0).ravel() > 0.5).astype(int)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
