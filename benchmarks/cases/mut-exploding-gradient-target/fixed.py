import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_regression
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)

X, y = make_regression(n_samples=1500, n_features=10, n_informative=8, noise=10.0, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
y_mean, y_std = y_train.mean(), y_train.std()

model = keras.Sequential([
    keras.Input(shape=(10,)),
    layers.Dense(64, activation="relu"),
    layers.Dense(64, activation="relu"),
    layers.Dense(1),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
model.fit(X_train, (y_train - y_mean) / y_std, epochs=30, batch_size=32, validation_split=0.1, verbose=2)

pred = model.predict(X_test, verbose=0).ravel() * y_std + y_mean
r2 = 1.0 - np.mean((pred - y_test) ** 2) / np.var(y_test)
print(f"final r2: {r2:.4f}")
