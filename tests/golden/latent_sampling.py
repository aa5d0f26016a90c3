"""The Sampling layer of a VAE exported by latent (latent export, lt_export_keras):
define it (import this file) before keras.models.load_model reads such a file. It is
latent's Sampling layer: [mean | log-variance] in, z = mean + exp(logvar / 2) * eps out
in training, the mean at inference, and beta times the batch's mean per-sample KL
divergence to N(0, I) added to the loss."""
import keras


@keras.saving.register_keras_serializable(package="latent")
class Sampling(keras.layers.Layer):
    """latent's Sampling layer: [mean | log-variance] in, z out; adds beta times the
    mean over the batch of the per-sample KL divergence to N(0, I) to the loss."""

    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.beta = beta

    def call(self, x, training=False):
        mean, logvar = keras.ops.split(x, 2, axis=-1)
        if not training:
            return mean
        kl = -0.5 * keras.ops.sum(1 + logvar - mean ** 2 - keras.ops.exp(logvar), axis=-1)
        self.add_loss(self.beta * keras.ops.mean(kl))
        return mean + keras.ops.exp(0.5 * logvar) * keras.random.normal(keras.ops.shape(mean))

    def compute_output_shape(self, shape):
        return shape[:-1] + (shape[-1] // 2,)

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}
