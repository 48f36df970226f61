"""Training readers: data, fine-tuning, distillation, averaging (the [train] extra; never imported to serve)."""
