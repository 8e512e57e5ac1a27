import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)

# 30x30 grey "images" built from generated features
X, y = make_classification(n_samples=800, n_features=900, n_informative=10, n_redundant=0, class_sep=2.5, shuffle=False, random_state=0)
X = X.reshape(-1, 30, 30, 1).astype("float32")
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

# AlexNet-style stack
model = keras.Sequential()
model.add(keras.Input(shape=(30, 30, 1)))
model.add(layers.Conv2D(16, (5, 5), strides=(2, 2), padding="same"))
model.add(layers.Activation("relu"))
model.add(layers.MaxPooling2D(pool_size=(2, 2)))
model.add(layers.Conv2D(32, (3, 3), padding="same"))
model.add(layers.Activation("relu"))
model.add(layers.Conv2D(32, (3, 3), padding="same"))
model.add(layers.Activation("relu"))
model.add(layers.MaxPooling2D(pool_size=(2, 2)))
model.add(layers.Flatten())
model.add(layers.Dense(300))
model.add(layers.Activation("relu"))
model.add(layers.Dropout(0.4))
model.add(layers.Dense(1))
model.add(layers.Activation("sigmoid"))

model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(X_train, y_train, batch_size=32, epochs=5, verbose=2)

pred = (model.predict(X_test, verbose=0).ravel() > 0.5).astype(int)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
