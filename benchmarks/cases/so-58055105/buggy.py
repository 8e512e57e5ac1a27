import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)

X, y = make_classification(n_samples=400, n_features=22, n_informative=8, class_sep=1.5, random_state=1)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)

model = keras.Sequential()
model.add(keras.Input(shape=(22,)))
model.add(layers.Dense(48, activation="relu"))
model.add(layers.Dense(1, activation="softmax"))
model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(learning_rate=1e-4), metrics=["accuracy"])
model.fit(X_train, y_train, epochs=20, batch_size=5, verbose=0)

scores = model.evaluate(X_test, y_test, verbose=0)
print("keras test accuracy:", scores[1])
pred = (model.predict(X_test, verbose=0).ravel() > 0.5).astype(int)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
