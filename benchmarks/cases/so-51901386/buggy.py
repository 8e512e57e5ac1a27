import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# 9 classes of 24x24 RGB frames: the bright blob sits in one of the nine cells of a 3x3 grid
n, size, n_classes = 560, 24, 9
labels = rng.integers(0, n_classes, n)
X = rng.uniform(0, 0.6, (n, size, size, 3)).astype("float32")
for i, c in enumerate(labels):
    r, k = divmod(c, 3)
    X[i, r * 8:(r + 1) * 8, k * 8:(k + 1) * 8, :] += 0.4
Y = keras.utils.to_categorical(labels, n_classes)
X_train, Y_train, X_test, y_test = X[:440], Y[:440], X[440:], labels[440:]

model = keras.Sequential([
    keras.Input(shape=(size, size, 3)),
    layers.Conv2D(8, 3, activation="relu", padding="same"),
    layers.Conv2D(8, 3, activation="relu", padding="same"),
    layers.MaxPooling2D(),
    layers.Conv2D(16, 3, activation="relu", padding="same"),
    layers.Conv2D(16, 3, activation="relu", padding="same"),
    layers.MaxPooling2D(),
    layers.Conv2D(32, 3, activation="relu", padding="same"),
    layers.Conv2D(32, 3, activation="relu", padding="same"),
    layers.MaxPooling2D(),
    layers.Conv2D(32, 3, activation="relu", padding="same"),
    layers.Conv2D(32, 3, activation="relu", padding="same"),
    layers.Flatten(),
    layers.Dense(128, activation="relu"),
    layers.Dense(9, activation="relu"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-4), loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(X_train, Y_train, epochs=8, batch_size=24, verbose=2)

pred = model.predict(X_test, verbose=0).argmax(axis=1)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
