#!/usr/bin/env python3
"""Checks latent's Keras export against Keras itself: every case of keras_golden.txt is
imported by latent (latent import keras_CASE.keras), exported again (latent export),
loaded by keras.models.load_model (with latent_sampling.py's class for the VAE) and run
on the case's input; Keras's prediction must equal the one Keras made of the original
model. Run from this folder with TensorFlow installed:
    python3 check_keras_export.py path/to/latent"""
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import keras
import latent_sampling  # noqa: F401 (registers the Sampling class)

latent = sys.argv[1]
lines = open("keras_golden.txt").read().split("\n")
worst = 0.0
with tempfile.TemporaryDirectory() as tmp:
    for i in range(0, len(lines) - 4, 5):
        name = lines[i].split()[1]
        shape = [int(v) for v in lines[i + 2].split()[2:]]
        x = np.array(lines[i + 3].split()[2:], dtype="float32").reshape([-1] + shape)
        y = np.array(lines[i + 4].split()[2:], dtype="float32")
        lt, out = os.path.join(tmp, name + ".lt"), os.path.join(tmp, name + ".keras")
        subprocess.run([latent, "import", "keras_%s.keras" % name, lt, "--quiet", "--device", "cpu"], check=True)
        subprocess.run([latent, "export", lt, out, "--quiet", "--device", "cpu"], check=True)
        model = keras.models.load_model(out)
        diff = float(np.max(np.abs(model.predict(x, verbose=0).reshape(-1) - y)))
        worst = max(worst, diff)
        print("%-11s %5d parameters: Keras's prediction of latent's export differs from the original's by %.3g"
              % (name, model.count_params(), diff))
print("largest difference %.3g" % worst)
sys.exit(0 if worst < 1e-5 else 1)
