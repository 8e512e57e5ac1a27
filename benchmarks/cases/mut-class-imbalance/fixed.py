import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_classification
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

keras.utils.set_random_seed(0)

# fraud-like data: 5% positives
X, y = make_classification(n_samples=3000, n_features=20, n_informative=4, n_redundant=2,
                           weights=[0.95, 0.05], class_sep=1.5, flip_y=0.0, random_state=1)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

model = keras.Sequential([
    keras.Input(shape=(20,)),
    layers.Dense(32, activation="relu"),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=10, batch_size=64, verbose=2, class_weight={0: 1.0, 1: 19.0})

pred = (model.predict(X_test, verbose=0).ravel() > 0.5).astype(int)
print("test accuracy:", np.mean(pred == y_test))
print(f"final balanced_accuracy: {balanced_accuracy_score(y_test, pred):.4f}")
