"""Datasets: image folders, zip archives, HDF5 files, and procedural landscapes for tests and the default model."""
