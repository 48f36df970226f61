"""Question answering over documents: reader, answer pipeline, evaluation and training."""
