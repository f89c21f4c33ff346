"""Local response normalisation as a registered, serialisable Keras layer.

The original notebook wrapped ``tf.nn.local_response_normalization`` in anonymous
``Lambda`` layers. Those cannot be loaded with ``safe_mode=True`` and break
tf-keras-vis, which clones the model. A registered Layer subclass fixes both.
"""

import keras
import tensorflow as tf

PACKAGE = "tiny_googlenet"


@keras.saving.register_keras_serializable(package=PACKAGE)
class LocalResponseNormalization(keras.layers.Layer):
    """x / (bias + alpha * sum of x^2 over 2*depth_radius+1 channels) ** beta.

    The defaults are TensorFlow's (depth_radius=5, bias=1, alpha=1, beta=0.5),
    which is what the original network used: with alpha=1 each activation is
    divided by the Euclidean norm of its 11 neighbouring channels (plus one).
    """

    def __init__(self, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, **kwargs):
        super().__init__(**kwargs)
        self.depth_radius = int(depth_radius)
        self.bias = float(bias)
        self.alpha = float(alpha)
        self.beta = float(beta)

    def call(self, inputs):
        return tf.nn.local_response_normalization(
            inputs, depth_radius=self.depth_radius, bias=self.bias, alpha=self.alpha, beta=self.beta
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(depth_radius=self.depth_radius, bias=self.bias, alpha=self.alpha, beta=self.beta)
        return config
