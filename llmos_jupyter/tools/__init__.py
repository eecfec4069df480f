"""Tools the engine (and the model) can use."""
