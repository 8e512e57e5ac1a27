# Dummy problem: tell plain blue images from plain red images.
import os
import tempfile

import numpy as np
import pandas as pd
from PIL import Image
import keras

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

SIZE = 24

# write the images to a folder and list them in a CSV (filename,label)
data_dir = tempfile.mkdtemp()
records = []
for i in range(140):
    label = i % 2                      # 0 = blue, 1 = red
    color = (200, 30, 40) if label else (40, 60, 210)
    pixels = np.clip(np.array(color) + rng.normal(0, 8, size=(SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
    name = f"{'red' if label else 'blue'}_{i}.png"
    Image.fromarray(pixels).save(os.path.join(data_dir, name))
    records.append({"filename": name, "label": label})
pd.DataFrame(records).to_csv(os.path.join(data_dir, "labels.csv"), index=False)

df = pd.read_csv(os.path.join(data_dir, "labels.csv"))
images = np.array([np.array(Image.open(os.path.join(data_dir, f))) for f in df.filename], dtype="float32")
labels = df.label.to_numpy(dtype="float32")
images, test_images = images[:100], images[100:]
labels, test_labels = labels[:100], labels[100:]

# Create a Keras model.
model = keras.Sequential()
model.add(keras.Input(shape=(SIZE, SIZE, 3)))
model.add(
    keras.layers.Conv2D(
        filters=64,
        kernel_size=(3, 3),
        activation='relu',
    )
)
model.add(
    keras.layers.Conv2D(
        filters=64,
        kernel_size=(3, 3),
        activation='relu',
    )
)
model.add(
    keras.layers.MaxPooling2D(
        pool_size=(2, 2),
        strides=(2, 2),
    )
)
model.add(keras.layers.Flatten())
model.add(
    keras.layers.Dense(
        units=128,
        activation='relu'
    )
)
model.add(keras.layers.Dropout(0.5))
model.add(
    keras.layers.Dense(
        units=1,
        activation='sigmoid',
    )
)

# Train the model.
sgd = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True)
model.compile(
    optimizer=sgd,
    loss='mean_squared_error',
    metrics=['binary_accuracy']
)
model.fit(images, labels, epochs=20, batch_size=5, verbose=2)

pred = (model.predict(test_images, verbose=0)[:, 0] > 0.5).astype("float32")
print(f"final accuracy: {np.mean(pred == test_labels):.4f}")
