"""Renderers: terminal, JSON and HTML views of a Diagnosis. Renderers compute nothing."""
