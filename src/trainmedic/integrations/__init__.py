"""Integrations: the only place that imports a framework (lazily). Keras, PyTorch, Lightning."""
