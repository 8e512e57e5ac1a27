import numpy as np
import pandas as pd
import keras
from keras import layers
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# customer table: income and balance in currency units, age in years, ...
Z, y = make_classification(n_samples=2000, n_features=6, n_informative=5, n_redundant=1,
                           class_sep=1.2, random_state=0)
df = pd.DataFrame({
    "income": 60000 + 20000 * Z[:, 0],
    "balance": 8000 + 3000 * Z[:, 1],
    "age": 40 + 10 * Z[:, 2],
    "tenure": 5 + 2 * Z[:, 3],
    "visits": 20 + 6 * Z[:, 4],
    "score": 600 + 80 * Z[:, 5],
})
X = df.to_numpy(dtype="float32")
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
mean, std = X_train.mean(axis=0), X_train.std(axis=0)
X_train, X_test = (X_train - mean) / std, (X_test - mean) / std

model = keras.Sequential([
    keras.Input(shape=(6,)),
    layers.Dense(32, activation="relu"),
    layers.Dense(32, activation="relu"),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=15, batch_size=32, validation_split=0.1, verbose=2)

pred = (model.predict(X_test, verbose=0).ravel() > 0.5).astype(int)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
