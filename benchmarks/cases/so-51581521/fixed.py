import numpy as np
import keras
from keras import layers
from sklearn.datasets import make_classification

keras.utils.set_random_seed(0)

# stand-in for the bottleneck features saved from the convolutional base (4x4x32 per image)
feats, labels = make_classification(n_samples=800, n_features=4 * 4 * 32, n_informative=8, class_sep=1.5, random_state=0)
feats = feats.reshape(-1, 4, 4, 32).astype("float32")
train_data, train_labels = feats[:600], labels[:600]
validation_data, validation_labels = feats[600:], labels[600:]

model = keras.Sequential()
model.add(keras.Input(shape=train_data.shape[1:]))
model.add(layers.Flatten())
model.add(layers.Dense(256, activation="relu"))
model.add(layers.Dropout(0.5))
model.add(layers.Dense(1, activation="sigmoid"))

model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(train_data, train_labels, epochs=20, batch_size=64,
          validation_data=(validation_data, validation_labels), verbose=0)

pred = (model.predict(validation_data, verbose=0).ravel() > 0.5).astype(int)
print(f"final accuracy: {np.mean(pred == validation_labels):.4f}")
