# Rare-event detector: only ~8% positives, compensated with class weights.
import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_classification
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_class_weight

keras.utils.set_random_seed(0)
np.random.seed(0)

X, y = make_classification(n_samples=2000, n_features=12, n_informative=6, weights=[0.92, 0.08],
                           class_sep=1.2, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
print("positive share:", y_train.mean().round(3))

weights = compute_class_weight("balanced", classes=np.array([0, 1]), y=y_train)
class_weight = {0: weights[0], 1: weights[1]}

model = keras.Sequential([
    keras.Input(shape=(12,)),
    layers.Dense(32, activation="relu"),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=20, batch_size=32, class_weight=class_weight, verbose=0)

pred = (model.predict(X_test, verbose=0)[:, 0] > 0.5).astype(int)
print(f"final balanced_accuracy: {balanced_accuracy_score(y_test, pred):.4f}")
