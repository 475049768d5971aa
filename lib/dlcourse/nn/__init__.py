"""A small module layer over the NumPy references: parameters, composition, modes."""
