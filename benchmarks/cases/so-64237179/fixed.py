import numpy as np
import keras
from keras import layers
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)


def smooth(v):
    for axis in (1, 2, 3):
        v = (v + np.roll(v, 1, axis) + np.roll(v, -1, axis)) / 3.0
    return v


# 12x12x12 scans: class 0 tissue is smooth, class 1 tissue has a fine-grained texture
n = 600
labels = rng.integers(0, 2, n)
noise = rng.standard_normal((n, 12, 12, 12))
smooth_noise = smooth(noise)
smooth_noise *= noise.std() / smooth_noise.std()
volumes = np.where(labels[:, None, None, None] == 1, noise, smooth_noise)[..., None].astype("float32")
X_train, X_test, y_train, y_test = train_test_split(volumes, labels, test_size=0.25, random_state=0)

model = keras.Sequential([
    keras.Input(shape=(12, 12, 12, 1)),
    layers.Conv3D(8, 3),
    layers.MaxPooling3D(2),
    layers.Conv3D(16, 3),
    layers.Flatten(),
    layers.Dense(256),
    layers.Dense(512),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=8, batch_size=32, verbose=2)

pred = (model.predict(X_test, verbose=0)[:, 0] > 0.5).astype(int)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
