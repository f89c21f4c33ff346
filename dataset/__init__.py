"""The data set: Fashion-MNIST's four official files, found, checked and read (``dataset.fashion_mnist``),
and the class names every page and command uses."""
