"""hubgen: long-context LSG models from existing checkpoints, rendered, converted, tested and published."""

__version__ = "0.1.0"
