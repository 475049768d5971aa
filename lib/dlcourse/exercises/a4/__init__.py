"""References of assignment 4 (CNN architectures in PyTorch), one module per notebook."""
