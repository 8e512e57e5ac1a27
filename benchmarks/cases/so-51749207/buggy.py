import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)

X, y = make_classification(n_samples=549, n_features=120, n_informative=15, random_state=7)
X = np.expand_dims(X, axis=2)  # (samples, 120, 1)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)

model = keras.Sequential()
model.add(keras.Input(shape=(120, 1)))
model.add(layers.Conv1D(20, kernel_size=5, activation="relu"))
model.add(layers.MaxPooling1D(pool_size=2))
model.add(layers.Dropout(0.25))
model.add(layers.Flatten())
model.add(layers.Dense(50, activation="relu"))
model.add(layers.Dense(1, activation="softmax"))
model.compile(loss="binary_crossentropy", optimizer="nadam", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=8, batch_size=8, verbose=0)

pred = (model.predict(X_test, verbose=0).ravel() > 0.5).astype(int)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
