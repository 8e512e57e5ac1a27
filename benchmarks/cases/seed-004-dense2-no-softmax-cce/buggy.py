# Two-class image classifier; one-hot labels from to_categorical, shuffled between epochs.
import os
import tempfile

import numpy as np
from PIL import Image
from sklearn.utils import shuffle
import keras
from keras.models import Sequential
from keras.layers import Conv2D, MaxPooling2D, Flatten, Dense
from keras.optimizers import SGD

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

imageSize = 28
trainingEpochs = 10

# photos of two kinds (about 30% class 0, 70% class 1), written to disk and read back
folder = tempfile.mkdtemp()
files, classes = [], []
for i in range(360):
    label = 0 if i % 10 < 3 else 1
    img = rng.uniform(0, 160, size=(imageSize, imageSize, 3))
    img[..., 0 if label == 0 else 2] += rng.uniform(40, 90)  # class 0 scenes are warmer, class 1 cooler
    path = os.path.join(folder, f"{i:04d}_{label}.png")
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
    files.append(path)
    classes.append(label)

allImages = np.array([np.asarray(Image.open(p), dtype="float32") / 255.0 for p in files])
allLabels = keras.utils.to_categorical(classes, 2)
trainingImages, trainingLabels = allImages[:288], allLabels[:288]
testImages, testLabels = allImages[288:], allLabels[288:]

model = Sequential()
model.add(Conv2D(filters=32, kernel_size=[5, 5], strides=1, padding='same', activation='relu', input_shape=(imageSize, imageSize, 3)))
model.add(MaxPooling2D())
model.add(Conv2D(filters=64, kernel_size=[5, 5], strides=1, padding='same', activation='relu'))
model.add(MaxPooling2D())
model.add(Flatten())
model.add(Dense(2))
sgd = SGD()  # Use stochastic gradient descent for now
model.compile(loss='categorical_crossentropy', optimizer=sgd, metrics=['accuracy'])

model.summary()

counter = 0
# Train one cycle at a time so we can shuffle data inbetween
for x in range(trainingEpochs):

    counter += 1
    print()  # New line
    print('Epoch ' + str(counter))

    trainingImages, trainingLabels = shuffle(trainingImages, trainingLabels, random_state=0)  # Shuffle both sets in unison

    model.fit(x=trainingImages, y=trainingLabels, batch_size=32, epochs=1, verbose=2)

pred = model.predict(testImages, verbose=0).argmax(axis=1)
print(f"final accuracy: {np.mean(pred == testLabels.argmax(axis=1)):.4f}")
