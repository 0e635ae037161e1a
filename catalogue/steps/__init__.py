"""Build steps, one module per kind of output. ``catalogue.builder`` lists them in order."""
