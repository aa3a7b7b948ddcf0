"""The Ray-facing runtime: controller, weight sync, training entry point."""
