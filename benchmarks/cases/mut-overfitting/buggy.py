import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

keras.utils.set_random_seed(0)

X, y = make_classification(n_samples=1200, n_features=60, n_informative=10, n_redundant=0,
                           n_classes=3, n_clusters_per_class=2, class_sep=1.0, random_state=0)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
X_train, y_train = X_train[:40], y_train[:40]

model = keras.Sequential([
    keras.Input(shape=(60,)),
    layers.Dense(256, activation="relu"),
    layers.Dense(256, activation="relu"),
    layers.Dense(3, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=40, batch_size=32, verbose=2)

print("train accuracy:", model.evaluate(X_train, y_train, verbose=0)[1])
pred = model.predict(X_val, verbose=0).argmax(axis=1)
print(f"final val_accuracy: {np.mean(pred == y_val):.4f}")
