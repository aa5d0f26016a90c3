#!/usr/bin/env python3
"""The lecture's convolutional autoencoder trained in Keras (TensorFlow backend), for the
README's import example: encoder Conv2D 16 3x3 elu, Conv2D 16 3x3 elu, Flatten, Dense 100
elu; decoder Dense 9216 elu, Reshape 24x24x16, Conv2DTranspose 16 3x3 elu,
Conv2DTranspose 1 3x3 elu; Sequential([encoder, decoder]), as the lab builds it. Trains
on Fashion-MNIST (pixels in [0,1], MSE, Adam, batch 256), prints Keras's test MSE and
saves OUT.keras and OUT.h5.
    python3 bench/keras_lab.py OUT [EPOCHS]"""
import gzip
import os
import struct
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import keras
from keras import layers


def images(name):
    for d in (os.environ.get("LATENT_DATA_DIR"), "/usr/share/datasets/fashion-mnist"):
        if d and os.path.exists(os.path.join(d, name)):
            with gzip.open(os.path.join(d, name), "rb") as f:
                data = f.read()
            n = struct.unpack(">I", data[4:8])[0]
            return np.frombuffer(data, np.uint8, offset=16).reshape(n, 28, 28, 1).astype("float32") / 255.0
    sys.exit("fashion-mnist not found")


out = sys.argv[1]
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
keras.utils.set_random_seed(1)
enc = keras.Sequential([layers.Conv2D(16, 3, activation="elu", input_shape=(28, 28, 1)),
                        layers.Conv2D(16, 3, activation="elu"), layers.Flatten(),
                        layers.Dense(100, activation="elu")])
dec = keras.Sequential([layers.Dense(9216, input_shape=(100,), activation="elu"), layers.Reshape((24, 24, 16)),
                        layers.Conv2DTranspose(16, 3, activation="elu"),
                        layers.Conv2DTranspose(1, 3, activation="elu")])
ae = keras.Sequential([enc, dec])
ae.compile(optimizer="adam", loss="mse")
x, t = images("train-images-idx3-ubyte.gz"), images("t10k-images-idx3-ubyte.gz")
ae.fit(x, x, epochs=epochs, batch_size=256, verbose=2)
print("keras test mse: %.5f" % ae.evaluate(t, t, batch_size=256, verbose=0))
ae.save(out + ".keras")
ae.save(out + ".h5")
