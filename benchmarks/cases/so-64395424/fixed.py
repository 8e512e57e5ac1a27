import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)

# AND gate
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
y = np.array([0, 0, 0, 1], dtype="float32")

model = keras.Sequential()
model.add(keras.Input(shape=(2,)))
model.add(layers.Dense(2, activation="relu"))
model.add(layers.Dense(128, activation="relu"))
model.add(layers.Dense(1, activation="sigmoid"))
model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=False),
              metrics=[keras.metrics.BinaryAccuracy()])
model.fit(np.tile(X, (100, 1)), np.tile(y, 100), epochs=8, batch_size=4, verbose=0)

print("outputs:", np.round(model.predict(X, verbose=0).ravel(), 3))
loss, acc = model.evaluate(X, y, verbose=0)
print(f"final accuracy: {acc:.4f}")
