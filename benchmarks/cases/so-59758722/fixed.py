import numpy as np
import keras
from keras import layers
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# 4 process settings -> measured temperature change (always a cooling, in degrees)
X = rng.uniform(0, 10, (1000, 4))
y = -(2.0 + 0.8 * X[:, 0] + 0.5 * X[:, 1] * X[:, 2] / 10.0 + np.sqrt(X[:, 3]))
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

model = keras.Sequential([
    keras.Input(shape=(4,)),
    layers.Dense(30, activation="relu"),
    layers.Dense(30, activation="relu"),
    layers.Dense(1),
])
model.compile(optimizer="rmsprop", loss="mse")
model.fit(X_train, y_train, epochs=60, batch_size=128, verbose=0)

pred = model.predict(X_test, verbose=0)[:, 0]
r2 = 1 - np.mean((pred - y_test) ** 2) / np.var(y_test)
print(f"final r2: {r2:.4f}")
