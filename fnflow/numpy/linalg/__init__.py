"""fnflow.numpy.linalg (being written)."""
