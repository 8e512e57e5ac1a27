import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_regression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

keras.utils.set_random_seed(0)

X, y = make_regression(n_samples=400, n_features=18, n_informative=10, noise=5.0, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
x_scaler = StandardScaler().fit(X_train)
y_scaler = StandardScaler().fit(y_train.reshape(-1, 1))
X_train, X_test = x_scaler.transform(X_train), x_scaler.transform(X_test)
y_train_s = y_scaler.transform(y_train.reshape(-1, 1))

model = keras.Sequential([
    keras.Input(shape=(18,)),
    layers.Dense(36, activation="tanh"),
    layers.Dense(72, activation="relu"),
    layers.Dense(72, activation="relu"),
    layers.Dense(32, activation="relu"),
    layers.Dense(16, activation="relu"),
    layers.Dense(1),
])
model.compile(optimizer="adam", loss="mse")
model.fit(X_train, y_train_s, epochs=25, batch_size=16, verbose=0)

pred = y_scaler.inverse_transform(model.predict(X_test, verbose=0))[:, 0]
r2 = 1 - np.mean((pred - y_test) ** 2) / np.var(y_test)
print(f"final r2: {r2:.4f}")
