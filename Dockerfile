# The same steps as `make serve`: torch 2.13.0 (CPU) first, then the project; serves on port 8000.
FROM python:3.11-slim
WORKDIR /app
ENV HF_HUB_OFFLINE=1 PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY index ./index
COPY qa ./qa
COPY api ./api
RUN pip install .
COPY seeds ./seeds
COPY models ./models
ENV QA_DOCUMENTS='["/app/seeds"]' QA_READER_MODEL=/app/models/reader QA_INDEX_DIR=/app/var/index
RUN qa index
EXPOSE 8000
CMD ["qa", "serve", "--host", "0.0.0.0", "--port", "8000"]
