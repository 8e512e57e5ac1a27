import numpy as np
import keras
from keras import layers
from sklearn.preprocessing import StandardScaler

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# 3 correlated sensor channels, scaled to zero mean / unit variance
latent = rng.standard_normal((600, 2))
raw = latent @ np.array([[1.0, 0.5, -0.8], [0.3, -1.0, 0.6]]) + 0.05 * rng.standard_normal((600, 3))
X = StandardScaler().fit_transform(raw)
X_train, X_test = X[:480], X[480:]

model = keras.Sequential([
    keras.Input(shape=(3,)),
    layers.Dense(128, activation="relu"),
    layers.Dense(64, activation="relu"),
    layers.Dense(32, activation="relu"),
    layers.Dense(64, activation="relu"),
    layers.Dense(128, activation="relu"),
    layers.Dense(3, activation="relu"),
])
model.compile(optimizer="adam", loss="mse")
model.fit(X_train, X_train, epochs=5, batch_size=2, verbose=0)

recon = model.predict(X_test, verbose=0)
print(f"final mse: {np.mean((recon - X_test) ** 2):.4f}")
