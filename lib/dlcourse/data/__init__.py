"""Preprocessing, augmentation and dataset loaders."""
