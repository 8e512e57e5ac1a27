import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# 11 labelled measurements with 3 features, 4 categories (0-3)
centers = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
y_train = np.array([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2])
X_train = centers[y_train] + 0.1 * rng.standard_normal((11, 3))
y_test = rng.integers(0, 4, 200)
X_test = centers[y_test] + 0.1 * rng.standard_normal((200, 3))

model = keras.Sequential([
    keras.Input(shape=(3,)),
    layers.Dense(3, activation="relu"),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.001), loss="binary_crossentropy",
              metrics=["accuracy"])
model.fit(X_train, y_train, epochs=30, batch_size=1, verbose=0)

probs = model.predict(X_test, verbose=0)
pred = np.round(probs[:, 0])
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
