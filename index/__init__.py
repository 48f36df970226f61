"""Documents to passages to vectors: chunking, embedding and the on-disk FAISS passage index."""
