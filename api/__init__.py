"""The HTTP service: FastAPI app, its guards, and the chat page."""
