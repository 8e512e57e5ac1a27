import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_regression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

keras.utils.set_random_seed(0)

X, Y = make_regression(n_samples=1000, n_features=12, n_informative=8, n_targets=3, noise=2.0,
                       random_state=0)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.25, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
Y_scale = Y_train.std(axis=0)
n_out = Y.shape[1]

model = keras.Sequential([
    keras.Input(shape=(12,)),
    layers.Dense(100, activation="relu"),
    layers.Dense(80, activation="sigmoid"),
    layers.Dense(n_out, activation="softmax"),
])
model.compile(optimizer="adam", loss="mse")
model.fit(X_train, Y_train / Y_scale, epochs=25, batch_size=32, verbose=0)

pred = model.predict(X_test, verbose=0) * Y_scale
r2 = 1 - ((pred - Y_test) ** 2).mean(axis=0) / Y_test.var(axis=0)
print("r2 per target:", np.round(r2, 3))
print(f"final r2: {r2.mean():.4f}")
