"""From buffer examples to loss batches: forward passes and log-probs, pure torch."""
