import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# stand-in for MNIST: 16x16 grey digits drawn from 10 noisy templates
templates = rng.uniform(0, 255, (10, 16, 16))
labels = rng.integers(0, 10, 1200)
images = np.clip(templates[labels] * 0.5 + rng.uniform(0, 128, (1200, 16, 16)), 0, 255)
X = (images / 255.0)[..., None].astype("float32")
Y = keras.utils.to_categorical(labels, 10)
X_train, Y_train, X_test, y_test = X[:1000], Y[:1000], X[1000:], labels[1000:]

model = keras.Sequential()
model.add(keras.Input(shape=(16, 16, 1)))
model.add(layers.Conv2D(16, (3, 3), padding="same", activation="relu"))
model.add(layers.Conv2D(16, (3, 3), padding="same", activation="relu"))
model.add(layers.MaxPooling2D(pool_size=(2, 2)))
model.add(layers.Conv2D(32, (3, 3), padding="same", activation="relu"))
model.add(layers.Conv2D(32, (3, 3), padding="same", activation="relu"))
model.add(layers.MaxPooling2D(pool_size=(2, 2)))
model.add(layers.Conv2D(64, (3, 3), padding="same", activation="relu"))
model.add(layers.Conv2D(64, (3, 3), padding="same", activation="relu"))
model.add(layers.Flatten())
model.add(layers.Dense(50, activation="relu"))
model.add(layers.Dropout(0.5))
model.add(layers.Dense(10))
model.add(layers.Activation("softmax"))
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(X_train, Y_train, batch_size=32, epochs=5, verbose=2)

pred = model.predict(X_test, verbose=0).argmax(axis=1)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
