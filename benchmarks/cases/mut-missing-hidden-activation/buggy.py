import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_circles
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)

X, y = make_circles(n_samples=1500, noise=0.08, factor=0.5, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

model = keras.Sequential([
    keras.Input(shape=(2,)),
    layers.Dense(32),
    layers.Dense(32),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy",
              metrics=["accuracy"])
model.fit(X_train, y_train, epochs=30, batch_size=32, verbose=2)

pred = (model.predict(X_test, verbose=0).ravel() > 0.5).astype(int)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
