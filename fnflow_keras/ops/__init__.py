"""keras.ops (filled below)."""
