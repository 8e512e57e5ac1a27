import numpy as np
import keras
from keras import layers
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# 4 physical quantities predicted from 8 sensor readings
X = rng.uniform(0, 50, (600, 8))
W = rng.normal(0, 0.1, (8, 4))
Y = X @ W + np.sin(X[:, :4] / 8.0) + np.array([5.0, -2.0, 10.0, 0.0])
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.25, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

model = keras.Sequential([
    keras.Input(shape=(8,)),
    layers.Dense(32, activation="sigmoid"),
    layers.Dense(32, activation="sigmoid"),
    layers.Dense(16, activation="sigmoid"),
    layers.Dense(4),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.87), loss="mse")
model.fit(X_train, Y_train, epochs=6, batch_size=1, verbose=0)

pred = model.predict(X_test, verbose=0)
r2 = 1 - ((pred - Y_test) ** 2).mean(axis=0) / Y_test.var(axis=0)
print("r2 per target:", np.round(r2, 3))
print(f"final r2: {r2.mean():.4f}")
