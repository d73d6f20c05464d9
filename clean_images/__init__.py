"""Shared by the dataset builders here: image sanitation, sources, the build report."""
