import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)

X, y = make_classification(n_samples=600, n_features=40, n_informative=6, class_sep=1.5, random_state=0)
X = X.reshape(-1, 10, 4)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

model = keras.Sequential()
model.add(keras.Input(shape=(10, 4)))
model.add(layers.Conv1D(16, 3, padding="same"))
model.add(layers.BatchNormalization())
model.add(layers.LeakyReLU())
model.add(layers.Dropout(0.2))
model.add(layers.Conv1D(8, 3, padding="same"))
model.add(layers.BatchNormalization())
model.add(layers.LeakyReLU())
model.add(layers.Dropout(0.2))
model.add(layers.Flatten())
model.add(layers.Dense(64))
model.add(layers.Dense(1, activation="softmax"))

model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=30, batch_size=128, validation_split=0.1, verbose=0)

pred = (model.predict(X_test, verbose=0).ravel() > 0.5).astype(int)
print("predicted ones:", pred.sum(), "of", len(pred))
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
