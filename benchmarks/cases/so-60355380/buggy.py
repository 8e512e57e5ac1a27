import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)

X, y = make_classification(n_samples=600, n_features=25, n_informative=10, random_state=5)
X = X.reshape(-1, 5, 5, 1)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)

model = keras.Sequential([
    keras.Input(shape=(5, 5, 1)),
    layers.Conv2D(32, (2, 2), activation="relu", padding="same"),
    layers.Conv2D(32, (2, 2), activation="relu", padding="same"),
    layers.Conv2D(64, (2, 2), activation="relu", padding="same"),
    layers.Conv2D(64, (2, 2), activation="relu"),
    layers.Flatten(),
    layers.Dense(64, activation="relu"),
    layers.Dense(32, activation="relu"),
    layers.Dense(16, activation="relu"),
    layers.Dense(1, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="binary_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=8, batch_size=32, validation_data=(X_test, y_test), verbose=2)

pred = (model.predict(X_test, verbose=0).ravel() > 0.5).astype(int)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
