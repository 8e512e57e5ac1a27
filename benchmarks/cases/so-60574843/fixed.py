import numpy as np
import keras
from keras import layers
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# 12 hourly readings per row -> next energy output
X = rng.uniform(0, 1, (800, 12))
y = 1.0 + 4.0 * X[:, 0] + 3.0 * X[:, 1] * X[:, 2] + 2.0 * X[:, 3]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
x_scaler = MinMaxScaler().fit(X_train)
y_scaler = StandardScaler().fit(y_train.reshape(-1, 1))
X_train = x_scaler.transform(X_train).reshape(-1, 1, 12)
X_test = x_scaler.transform(X_test).reshape(-1, 1, 12)
y_train_s = y_scaler.transform(y_train.reshape(-1, 1))

model = keras.Sequential([
    keras.Input(shape=(1, 12)),
    layers.GRU(16, return_sequences=True),
    layers.GRU(16, return_sequences=True),
    layers.GRU(16),
    layers.Dense(1),
])
model.compile(optimizer="adam", loss="mse")
model.fit(X_train, y_train_s, epochs=10, batch_size=32, verbose=0)

pred = y_scaler.inverse_transform(model.predict(X_test, verbose=0))[:, 0]
r2 = 1 - np.mean((pred - y_test) ** 2) / np.var(y_test)
print(f"final r2: {r2:.4f}")
