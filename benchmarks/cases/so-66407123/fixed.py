import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)

X, y = make_classification(n_samples=600, n_features=5, n_informative=3, n_redundant=1, random_state=3)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)

model = keras.Sequential([
    keras.Input(shape=(5,)),
    layers.Dense(32, activation="relu"),
    layers.Dense(32, activation="relu"),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(X_train, y_train, epochs=60, batch_size=64, verbose=0)
print("train loss:", history.history["loss"][0], "->", history.history["loss"][-1])
print("train accuracy:", history.history["accuracy"][-1])

pred = (model.predict(X_test, verbose=0).ravel() > 0.5).astype(int)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
