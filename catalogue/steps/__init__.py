"""Build steps, one module per kind of output; ``catalogue.pipeline.builder`` runs them."""
