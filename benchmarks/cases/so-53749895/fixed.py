import numpy as np
import keras
from keras import layers
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)


def make_galaxies(n, size=16):
    # stand-in for the galaxy images: one bright blob per image; targets are
    # the blob's row, column and total brightness
    rows, cols = rng.uniform(3, size - 3, n), rng.uniform(3, size - 3, n)
    amp = rng.uniform(0.5, 1.5, n)
    rr, cc = np.mgrid[0:size, 0:size]
    blobs = amp[:, None, None] * np.exp(-((rr - rows[:, None, None]) ** 2 + (cc - cols[:, None, None]) ** 2) / 6.0)
    images = blobs + 0.05 * rng.standard_normal((n, size, size))
    targets = np.stack([rows, cols, blobs.sum(axis=(1, 2)) / 4.0], axis=1)
    return images.reshape(n, -1), targets


X, Y = make_galaxies(1200)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.25, random_state=0)

model = keras.Sequential([
    keras.Input(shape=(256,)),
    layers.Dense(32, activation="relu"),
    layers.Dense(3),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9), loss="mse")
model.fit(X_train, Y_train, epochs=20, batch_size=32, verbose=0)

pred = model.predict(X_test, verbose=0)
r2 = 1 - ((pred - Y_test) ** 2).mean(axis=0) / Y_test.var(axis=0)
print("r2 per target:", np.round(r2, 3))
print(f"final r2: {r2.mean():.4f}")
