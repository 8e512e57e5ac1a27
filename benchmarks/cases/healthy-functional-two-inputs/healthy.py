# Functional-API model with two inputs: cell-size measurements and texture measurements, merged.
import numpy as np
import keras
from keras import layers
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

keras.utils.set_random_seed(0)
np.random.seed(0)

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
size_cols, texture_cols = [0, 2, 3, 10, 12, 13, 20, 22, 23], [1, 4, 5, 6, 7, 8, 9, 11, 14, 15, 16, 17, 18, 19, 21, 24, 25, 26, 27, 28, 29]

size_in = keras.Input(shape=(len(size_cols),), name="size")
texture_in = keras.Input(shape=(len(texture_cols),), name="texture")
a = layers.Dense(8, activation="relu")(size_in)
b = layers.Dense(16, activation="relu")(texture_in)
merged = layers.concatenate([a, b])
h = layers.Dense(16, activation="relu")(merged)
out = layers.Dense(1, activation="sigmoid", name="malignant")(h)
model = keras.Model(inputs=[size_in, texture_in], outputs=out)

model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit({"size": X_train[:, size_cols], "texture": X_train[:, texture_cols]}, y_train,
          epochs=30, batch_size=32, verbose=0)

prob = model.predict({"size": X_test[:, size_cols], "texture": X_test[:, texture_cols]}, verbose=0)[:, 0]
print(f"final accuracy: {np.mean((prob > 0.5).astype(int) == y_test):.4f}")
