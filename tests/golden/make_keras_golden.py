#!/usr/bin/env python3
"""Writes the Keras fixtures of latent's tests/test_import.c: small models built with
Keras 3 (TensorFlow backend), each saved as a Keras 3 .keras file (keras_CASE.keras)
and a legacy .h5 file (keras_CASE.h5), and in keras_golden.txt its parameter count, an
input and Keras's prediction for it. Random weights (not any framework's
initialisation); the VAE's Sampling layer is the class the README gives for exported
VAEs. Two more files hold models latent must refuse with a message:
keras_reg.keras (Dense with a kernel regularizer) and keras_branch.keras (a Functional model
that is not a chain). Run from this folder with TensorFlow installed:
    python3 make_keras_golden.py > keras_golden.txt"""
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import keras
from keras import layers
from latent_sampling import Sampling

rng = np.random.default_rng(1905)
keras.utils.set_random_seed(1905)


def emit(name, model, x):
    model.set_weights([rng.normal(0, 0.4, w.shape).astype("float32") for w in model.get_weights()])
    model.save("keras_%s.keras" % name)
    model.save("keras_%s.h5" % name)
    y = model.predict(x, verbose=0)
    print("case", name)
    print("params", model.count_params())
    print("shape", x.ndim - 1, " ".join(str(d) for d in x.shape[1:]))
    for tag, t in (("x", x), ("y", y)):
        flat = t.reshape(-1).tolist()
        print(tag, len(flat), " ".join("%.9g" % v for v in flat))


# The lecture's convolutional autoencoder, smaller: Sequential([encoder, decoder]) of
# two Sequential models, input_shape given to their first layers as the lab does.
enc = keras.Sequential([layers.Conv2D(4, 3, activation="elu", input_shape=(10, 10, 1)),
                        layers.Conv2D(4, 3, activation="elu"), layers.Flatten(),
                        layers.Dense(8, activation="elu")], name="encoder")
dec = keras.Sequential([layers.Dense(144, input_shape=(8,), activation="elu"), layers.Reshape((6, 6, 4)),
                        layers.Conv2DTranspose(4, 3, activation="elu"),
                        layers.Conv2DTranspose(1, 3, activation="elu")], name="decoder")
emit("lab", keras.Sequential([enc, dec], name="ae"), rng.random((2, 10, 10, 1), dtype="float32"))

# Image layers with their options.
emit("image", keras.Sequential([
    keras.Input((12, 12, 2)),
    layers.Conv2D(5, (3, 2), strides=2, padding="same", activation="relu"),
    layers.LeakyReLU(),
    layers.MaxPooling2D(2, strides=1, padding="same"),
    layers.UpSampling2D((2, 1), interpolation="bilinear"),
    layers.Conv2D(3, 3, dilation_rate=2, activation="leaky_relu", use_bias=False),
    layers.Conv2DTranspose(4, 3, strides=2, output_padding=1, activation="tanh", use_bias=False),
    layers.Activation("leaky_relu"),
    layers.GaussianNoise(0.5), layers.Dropout(0.3),
    layers.Flatten(), layers.Dense(6, activation="sigmoid", use_bias=False), layers.ELU(alpha=0.7),
    layers.Dense(24, activation="softmax"), layers.Reshape((2, 3, 4)),
    layers.Conv2DTranspose(2, 2, padding="same", activation="linear"),
]), rng.random((2, 12, 12, 2), dtype="float32"))

# Recurrent layers with their flags, every merge but concat's default elsewhere.
emit("rnn", keras.Sequential([
    keras.Input((6, 3)),
    layers.Bidirectional(layers.LSTM(5, return_sequences=True), merge_mode="sum"),
    layers.GRU(4, return_sequences=True, go_backwards=True),
    layers.Bidirectional(layers.SimpleRNN(3, return_sequences=True, activation="relu"), merge_mode="mul"),
    layers.TimeDistributed(layers.Dense(2, activation="tanh")),
    layers.Bidirectional(layers.GRU(3), merge_mode="ave"),
    layers.RepeatVector(4),
    layers.Bidirectional(layers.LSTM(2, return_sequences=True)),
    layers.SimpleRNN(3),
]), rng.normal(0, 1, (2, 6, 3)).astype("float32"))

# A Functional chain through nested models, as keras.Model(inputs, decoder(encoder(inputs))),
# compiled (latent takes the loss and the optimizer's settings).
fenc = keras.Sequential([keras.Input((7,)), layers.Dense(5), layers.ReLU(), layers.ActivityRegularization(l1=0.01),
                         layers.Dense(3, activation="elu")], name="fenc")
fdec = keras.Sequential([keras.Input((3,)), layers.Dense(5, activation="elu"), layers.Dense(7, activation="sigmoid")], name="fdec")
inp = keras.Input((7,))
fae = keras.Model(inp, fdec(fenc(inp)), name="fae")
fae.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.5), loss="binary_crossentropy")
emit("functional", fae, rng.random((3, 7), dtype="float32"))

# A VAE with the Sampling class the README gives for latent's exported VAEs
# (latent_sampling.py): the prediction (inference) decodes the mean.
venc = keras.Sequential([keras.Input((9,)), layers.Dense(6, activation="relu"), layers.Dense(4), Sampling(beta=0.5)], name="venc")
vdec = keras.Sequential([keras.Input((2,)), layers.Dense(6, activation="relu"), layers.Dense(9, activation="sigmoid")], name="vdec")
emit("vae", keras.Sequential([venc, vdec], name="vae"), rng.random((3, 9), dtype="float32"))

# Models latent refuses, with a message naming what it lacks.
keras.Sequential([keras.Input((4,)), layers.Dense(3, kernel_regularizer="l2", name="withreg")]).save("keras_reg.keras")
a = keras.Input((4,))
b = layers.Dense(4, name="branch")(a)
keras.Model(a, layers.Add(name="join")([a, b])).save("keras_branch.keras")
