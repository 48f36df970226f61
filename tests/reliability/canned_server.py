"""A real uvicorn server around the app, whose reader is a slow test double (for shutdown and timeout tests).

Usage: python -m tests.reliability.canned_server PORT DELAY_SECONDS
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import uvicorn

from api.app import create_app
from qa.settings import Settings
from tests.conftest import seed_store
from tests.doubles import CannedAnswerer, HashingEmbedder


class SlowAnswerer(CannedAnswerer):
    def __init__(self, store, embedder, delay: float) -> None:
        super().__init__(store, embedder)
        self.delay = delay

    def answer(self, question, top_k=None):
        time.sleep(self.delay)
        return super().answer(question, top_k)


def main() -> None:
    port, delay = int(sys.argv[1]), float(sys.argv[2])
    embedder = HashingEmbedder()
    index_dir = Path(tempfile.mkdtemp()) / "index"
    store = seed_store(index_dir, embedder)
    settings = Settings(request_timeout_s=30)
    app = create_app(settings, answerer=SlowAnswerer(store, embedder, delay))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=30)


if __name__ == "__main__":
    main()
