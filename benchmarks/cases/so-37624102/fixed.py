import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# 100 synthetic points, two scores in [0, 100]; class 1 above the diagonal
X = rng.uniform(0, 100, (100, 2)).astype("float32")
y = (X[:, 1] > X[:, 0]).astype("float32")
X_test = rng.uniform(0, 100, (400, 2)).astype("float32")
y_test = (X_test[:, 1] > X_test[:, 0]).astype("float32")

model = keras.Sequential([
    keras.Input(shape=(2,)),
    layers.Dense(8, activation="relu"),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="binary_crossentropy",
              metrics=["accuracy"])
model.fit(X, y, epochs=40, batch_size=10, verbose=0)

pred = (model.predict(X_test, verbose=0)[:, 0] > 0.5).astype(float)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
