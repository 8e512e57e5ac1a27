# 3-class image classifier trained from class folders (Training_path/Label1, Label2, Label3).
import os
import tempfile

import numpy as np
from PIL import Image
import keras
from keras.models import Sequential
from keras.layers import Conv2D, MaxPooling2D, Flatten, Dense
from keras.optimizers import SGD

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

IMG = 48


def make_image(label):
    # three kinds of scenes: reddish, greenish and bluish, with random texture
    img = rng.uniform(0, 120, size=(IMG, IMG, 3))
    yy, xx = np.mgrid[0:IMG, 0:IMG]
    blob = (yy - rng.integers(0, IMG)) ** 2 + (xx - rng.integers(0, IMG)) ** 2 < rng.uniform(50, 200)
    img[blob] += 60
    img[..., label] += rng.uniform(50, 100)
    return np.clip(img, 0, 255).astype(np.uint8)


root = tempfile.mkdtemp()
for split, n in (("train", 60), ("val", 30)):
    for c in range(3):
        d = os.path.join(root, split, f"Label{c + 1}")
        os.makedirs(d)
        for i in range(n):
            Image.fromarray(make_image(c)).save(os.path.join(d, f"{i}.png"))

training_set = keras.utils.image_dataset_from_directory(
    os.path.join(root, "train"), label_mode="categorical", image_size=(IMG, IMG), batch_size=16, seed=0)
test_set = keras.utils.image_dataset_from_directory(
    os.path.join(root, "val"), label_mode="categorical", image_size=(IMG, IMG), batch_size=32, shuffle=False)

classifier = Sequential()
classifier.add(keras.Input(shape=(IMG, IMG, 3)))
classifier.add(keras.layers.Rescaling(1. / 255))
classifier.add(Conv2D(32, (3, 3), activation='relu'))
classifier.add(Conv2D(32, (3, 3), activation='relu'))
classifier.add(MaxPooling2D(pool_size=(2, 2)))
classifier.add(Conv2D(32, (3, 3), activation='relu'))
classifier.add(Conv2D(32, (3, 3), activation='relu'))
classifier.add(MaxPooling2D(pool_size=(2, 2)))
classifier.add(Conv2D(32, (3, 3), activation='relu'))
classifier.add(Conv2D(32, (3, 3), activation='relu'))
classifier.add(MaxPooling2D(pool_size=(2, 2)))
classifier.add(Flatten())
classifier.add(Dense(128, activation='relu'))
classifier.add(Dense(64, activation='relu'))
classifier.add(Dense(3, activation='softmax'))

classifier.compile(optimizer=SGD(learning_rate=0.003, momentum=0.9), loss='categorical_crossentropy', metrics=['accuracy'])
classifier.fit(training_set, epochs=8, validation_data=test_set, verbose=2)

x_val = np.concatenate([x for x, _ in test_set])
y_val = np.concatenate([y for _, y in test_set])
pred = classifier.predict(x_val, verbose=0).argmax(axis=1)
print("predicted classes:", np.bincount(pred, minlength=3))
print(f"final accuracy: {np.mean(pred == y_val.argmax(axis=1)):.4f}")
