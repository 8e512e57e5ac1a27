# Two interleaved half-moons with a deep-ish tanh network (7 hidden layers).
import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)
np.random.seed(0)

X, y = make_moons(n_samples=1200, noise=0.15, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)

model = keras.Sequential([keras.Input(shape=(2,))])
for _ in range(7):
    model.add(layers.Dense(32, activation="tanh"))
model.add(layers.Dense(1, activation="sigmoid"))
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="binary_crossentropy",
              metrics=["accuracy"])
model.fit(X_train, y_train, epochs=30, batch_size=32, verbose=0)

pred = (model.predict(X_test, verbose=0)[:, 0] > 0.5).astype(int)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
