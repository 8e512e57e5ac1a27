import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_regression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

keras.utils.set_random_seed(0)

X, Y = make_regression(n_samples=1000, n_features=28, n_informative=12, n_targets=6, noise=3.0,
                       random_state=0)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.25, random_state=0)
x_scaler, y_scaler = StandardScaler().fit(X_train), StandardScaler().fit(Y_train)
X_train, X_test = x_scaler.transform(X_train), x_scaler.transform(X_test)
Y_train_s = y_scaler.transform(Y_train)

model = keras.Sequential([
    keras.Input(shape=(28,)),
    layers.Dense(20, activation="relu"),
    layers.Dense(15, activation="relu"),
    layers.Dense(6),
])
model.compile(optimizer="adam", loss="mae")
model.fit(X_train, Y_train_s, epochs=40, batch_size=32, verbose=0)

pred = y_scaler.inverse_transform(model.predict(X_test, verbose=0))
r2 = 1 - ((pred - Y_test) ** 2).mean(axis=0) / Y_test.var(axis=0)
print("r2 per target:", np.round(r2, 3))
print(f"final r2: {r2.mean():.4f}")
