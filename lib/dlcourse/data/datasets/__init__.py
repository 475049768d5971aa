"""Dataset loaders: CIFAR-10, MNIST, Fashion-MNIST and the embedded digits."""
