# Image classifier for 42 classes (one folder per class), following the TF image classification tutorial.
import os
import tempfile

import numpy as np
from PIL import Image
import keras
from keras.models import Sequential
from keras.layers import Conv2D, MaxPooling2D, Flatten, Dense

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

NUM_CLASSES = 42
IMG_HEIGHT = IMG_WIDTH = 24
batch_size = 32
epochs = 8

# synthetic data set: every class has its own colour layout, images are noisy copies of it
prototypes = rng.uniform(0, 255, size=(NUM_CLASSES, 4, 4, 3))
root = tempfile.mkdtemp()
for split, n in (("train", 12), ("validation", 4)):
    for c in range(NUM_CLASSES):
        folder = os.path.join(root, split, f"class_{c:02d}")
        os.makedirs(folder)
        for i in range(n):
            img = np.kron(prototypes[c], np.ones((6, 6, 1))) + rng.normal(0, 30, size=(24, 24, 3))
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(os.path.join(folder, f"{i}.png"))
train_dir = os.path.join(root, "train")
validation_dir = os.path.join(root, "validation")

train_data_gen = keras.utils.image_dataset_from_directory(
    train_dir, label_mode='categorical', image_size=(IMG_HEIGHT, IMG_WIDTH), batch_size=batch_size,
    shuffle=True, seed=0).map(lambda x, y: (x / 255.0, y))
val_data_gen = keras.utils.image_dataset_from_directory(
    validation_dir, label_mode='categorical', image_size=(IMG_HEIGHT, IMG_WIDTH), batch_size=batch_size,
    shuffle=False).map(lambda x, y: (x / 255.0, y))


model = Sequential([
    keras.Input(shape=(IMG_HEIGHT, IMG_WIDTH, 3)),
    Conv2D(16, 3, padding='same', activation='relu'),
    MaxPooling2D(),
    Conv2D(32, 3, padding='same', activation='relu'),
    MaxPooling2D(),
    Conv2D(64, 3, padding='same', activation='relu'),
    MaxPooling2D(),
    Flatten(),
    Dense(512, activation='relu'),
    Dense(NUM_CLASSES)
])

model.compile(optimizer='adam',
              loss=keras.losses.BinaryCrossentropy(from_logits=True),
              metrics=['accuracy'])

history = model.fit(train_data_gen, epochs=epochs, validation_data=val_data_gen, verbose=2)

x_val = np.concatenate([x for x, _ in val_data_gen])
y_val = np.concatenate([y for _, y in val_data_gen])
pred = model.predict(x_val, verbose=0).argmax(axis=1)
print(f"final accuracy: {np.mean(pred == y_val.argmax(axis=1)):.4f}")
