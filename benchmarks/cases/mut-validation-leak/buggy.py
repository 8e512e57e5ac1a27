import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_classification
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)

X, y = make_classification(n_samples=800, n_features=30, n_informative=6, n_redundant=0,
                           flip_y=0.2, class_sep=1.0, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
X_val, y_val = X_train[:100], y_train[:100]

model = keras.Sequential([
    keras.Input(shape=(30,)),
    layers.Dense(128, activation="relu"),
    layers.Dense(128, activation="relu"),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
model.fit(X_train, y_train, epochs=30, batch_size=32, validation_data=(X_val, y_val),
          callbacks=[early], verbose=2)

prob = model.predict(X_test, verbose=0).ravel()
print("test accuracy:", np.mean((prob > 0.5) == y_test))
print(f"final test_loss: {log_loss(y_test, prob):.4f}")
