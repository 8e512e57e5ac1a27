import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
np.random.seed(0)

num_classes, timesteps, features = 4, 10, 4
n = 300
labels = np.random.randint(0, num_classes, n)
X = np.random.normal(0, 1, (n, timesteps, features))
X[np.arange(n), :, labels] += 1.0  # the class shows up as a raised channel
X = X.astype("float32")
Y = keras.utils.to_categorical(labels, num_classes)
X_train, Y_train, X_test, y_test = X[:200], Y[:200], X[200:], labels[200:]

model = keras.Sequential()
model.add(keras.Input(shape=(timesteps, features)))
model.add(layers.LSTM(32))
model.add(layers.Dense(num_classes, activation="softmax"))
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(X_train, Y_train, epochs=3, batch_size=1, verbose=2)

pred = model.predict(X_test, verbose=0).argmax(axis=1)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
