# Face / no-face tagger: CSV of filenames + tags, images in a folder, small CNN.
import os
import tempfile

import numpy as np
import pandas as pd
from PIL import Image
import keras
from keras import layers
from keras.optimizers import SGD

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

IMG = 32
N = 400

# --- build a tiny data set on disk: images/ + labels.csv (filename,face) ---
image_directory = tempfile.mkdtemp()
yy, xx = np.mgrid[0:IMG, 0:IMG]
rows = []
for i in range(N):
    face = int(rng.integers(0, 2))
    img = rng.uniform(40, 140, size=(IMG, IMG, 3))
    if face:
        cy, cx = rng.integers(10, IMG - 10, size=2)
        r = rng.uniform(6, 9)
        disk = (yy - cy) ** 2 + (xx - cx) ** 2 < r ** 2
        img[disk] = [230, 190, 160]
        img[(yy - (cy - 2)) ** 2 + (xx - (cx - 3)) ** 2 < 2] = [20, 20, 20]
        img[(yy - (cy - 2)) ** 2 + (xx - (cx + 3)) ** 2 < 2] = [20, 20, 20]
    fname = f"img{i}.png"
    Image.fromarray(img.astype(np.uint8)).save(os.path.join(image_directory, fname))
    rows.append((fname, face))
pd.DataFrame(rows, columns=["filename", "face"]).to_csv(os.path.join(image_directory, "labels.csv"), index=False)

# --- load it back ---
df = pd.read_csv(os.path.join(image_directory, "labels.csv"))
label_strings = ["face"]
num_classes = len(label_strings)
images = np.stack([np.asarray(Image.open(os.path.join(image_directory, f)).convert("RGB"), dtype="float32")
                   for f in df["filename"]])
labels = df[label_strings].to_numpy("float32")
split = int(0.8 * len(df))
x_train, y_train = images[:split], labels[:split]
x_val, y_val = images[split:], labels[split:]

model = keras.Sequential([
    keras.Input(shape=(IMG, IMG, 3)),
    # data augmentation
    layers.RandomFlip("horizontal_and_vertical"),
    layers.RandomRotation(0.025),
    # preprocessing
    layers.Rescaling(1. / 255),
    # do the work
    layers.Conv2D(16, 3, padding='same'),
    layers.Activation("relu"),
    layers.MaxPooling2D(),
    layers.Conv2D(32, 3, padding='same'),
    layers.Activation("relu"),
    layers.MaxPooling2D(),
    layers.Conv2D(64, 3, padding='same'),
    layers.Activation("relu"),
    layers.MaxPooling2D(),
    layers.Flatten(),
    layers.Dense(256),
    layers.Activation("relu"),
    layers.Dense(256),
    layers.Activation("relu"),
    layers.Dense(num_classes),
    layers.Activation('sigmoid'),
])

opt = SGD(learning_rate=0.05)
model.compile(optimizer=opt, loss='binary_crossentropy', metrics=['accuracy'])
model.fit(x_train, y_train, validation_data=(x_val, y_val), batch_size=32, epochs=10, shuffle=True, verbose=2)

pred = (model.predict(x_val, verbose=0) > 0.5).astype("float32")
print(f"final accuracy: {np.mean(pred == y_val):.4f}")
