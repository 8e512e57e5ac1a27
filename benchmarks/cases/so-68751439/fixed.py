import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)

X, y = make_classification(n_samples=400, n_features=14, n_informative=6, random_state=4)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

model = keras.Sequential()
model.add(keras.Input(shape=(14,)))
model.add(layers.Dense(64, activation="relu"))
model.add(layers.Dense(128, activation="relu"))
model.add(layers.Dense(64, activation="relu"))
model.add(layers.Dense(1, activation="sigmoid"))
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(X_train, y_train, epochs=20, batch_size=16, verbose=0)
print("loss per epoch:", [round(v, 4) for v in history.history["loss"]])

pred = (model.predict(X_test, verbose=0).ravel() > 0.5).astype(int)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
