import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# stand-in for Fashion-MNIST: 28x28 grey images of 10 garment "templates" with pixel noise, uint8 range
templates = rng.uniform(0, 255, (10, 28, 28))
train_labels = rng.integers(0, 10, 1000)
test_labels = rng.integers(0, 10, 200)
train_images = np.clip(templates[train_labels] * 0.5 + rng.uniform(0, 128, (1000, 28, 28)), 0, 255).astype("uint8")
test_images = np.clip(templates[test_labels] * 0.5 + rng.uniform(0, 128, (200, 28, 28)), 0, 255).astype("uint8")

train_images = train_images / 255.0
test_images = test_images / 255.0

model = keras.Sequential([
    keras.Input(shape=(28, 28)),
    layers.Flatten(),
    layers.Dense(128, activation="relu"),
    layers.Dense(10),
])
model.compile(optimizer="adam",
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
model.fit(train_images, train_labels, epochs=5, verbose=2)

pred = model.predict(test_images, verbose=0).argmax(axis=1)
print(f"final accuracy: {np.mean(pred == test_labels):.4f}")
