# Price regression: targets in raw units (hundreds), linear output unit, MSE loss.
import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_regression
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

keras.utils.set_random_seed(0)
np.random.seed(0)

X, y = make_regression(n_samples=800, n_features=8, n_informative=5, noise=20.0, bias=250.0, random_state=0)
y = y + 0.002 * y ** 2                     # a little curvature
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
print("target range:", y_train.min().round(1), y_train.max().round(1))

model = keras.Sequential([
    keras.Input(shape=(8,)),
    layers.Dense(32, activation="relu"),
    layers.Dense(1),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="mse", metrics=["mae"])
model.fit(X_train, y_train, epochs=60, batch_size=32, verbose=0)

pred = model.predict(X_test, verbose=0)[:, 0]
print(f"test mse: {np.mean((pred - y_test) ** 2):.1f}")
print(f"final r2: {r2_score(y_test, pred):.4f}")
