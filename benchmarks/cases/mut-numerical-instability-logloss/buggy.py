import numpy as np
import keras
from keras import layers, ops
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

keras.utils.set_random_seed(0)

X, y = make_classification(n_samples=1500, n_features=10, n_informative=5, class_sep=2.5,
                           random_state=0)
y = y.reshape(-1, 1).astype("float32")
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)


def log_loss(y_true, y_pred):
    return -ops.mean(y_true * ops.log(y_pred) + (1.0 - y_true) * ops.log(1.0 - y_pred))


model = keras.Sequential([
    keras.Input(shape=(10,)),
    layers.Dense(32, activation="relu"),
    layers.Dense(32, activation="relu"),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=log_loss, metrics=["accuracy"])
model.fit(X_train, y_train, epochs=30, batch_size=32, verbose=2)

pred = (model.predict(X_test, verbose=0) > 0.5).astype("float32")
print(f"final accuracy: {np.mean(pred == y_test):.4f}")
