import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)

# 20 document categories, bag-of-words style features
X, y = make_classification(n_samples=1000, n_features=200, n_informative=30, n_redundant=0,
                           n_classes=20, n_clusters_per_class=1, class_sep=3.0, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)

model = keras.Sequential([
    keras.Input(shape=(200,)),
    layers.Dense(200, activation="relu"),
    layers.Dense(20, activation="relu"),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=10, batch_size=16, verbose=2)

pred = np.argmax(model.predict(X_test, verbose=0), axis=1)
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
