# Multi-label tagging: each sample can carry several of 5 tags; sigmoid outputs with binary cross-entropy.
import numpy as np
import keras
from keras import layers
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

X = rng.normal(size=(1500, 20)).astype("float32")
W = rng.normal(size=(20, 5))
Y = (X @ W + 0.3 * rng.normal(size=(1500, 5)) > 1.0).astype("float32")   # several tags per sample
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.3, random_state=0)
print("tags per sample:", Y.sum(axis=1).mean().round(2))

model = keras.Sequential([
    keras.Input(shape=(20,)),
    layers.Dense(64, activation="relu"),
    layers.Dense(5, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["binary_accuracy"])
model.fit(X_train, Y_train, epochs=25, batch_size=32, verbose=0)

pred = (model.predict(X_test, verbose=0) > 0.5).astype("float32")
print(f"exact match ratio: {np.mean((pred == Y_test).all(axis=1)):.4f}")
print(f"final f1_micro: {f1_score(Y_test, pred, average='micro'):.4f}")
