"""A two-class image classifier that flat-lines after one epoch (the pattern of a real user report).

Run it plainly (`python examples/flatline.py`) and the loss freezes; run it under trainmedic
(`trainmedic run examples/flatline.py`) to see why.
"""
import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)

# 400 small RGB images: class 1 has a bright square in the middle, class 0 does not
rng = np.random.default_rng(0)
images = rng.uniform(0, 0.5, size=(400, 24, 24, 3)).astype("float32")
labels = rng.integers(0, 2, size=400)
images[labels == 1, 8:16, 8:16, :] += 0.5
onehot = keras.utils.to_categorical(labels, 2)

model = keras.Sequential([
    keras.Input(shape=(24, 24, 3)),
    layers.Conv2D(16, 5, padding="same", activation="relu"),
    layers.MaxPooling2D(),
    layers.Conv2D(32, 5, padding="same", activation="relu"),
    layers.MaxPooling2D(),
    layers.Flatten(),
    layers.Dense(2),
])
model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.SGD(), metrics=["accuracy"])

for epoch in range(4):
    history = model.fit(images, onehot, batch_size=32, epochs=1, verbose=0)
    print(f"epoch {epoch + 1}: loss {history.history['loss'][-1]:.4f} "
          f"accuracy {history.history['accuracy'][-1]:.4f}")
