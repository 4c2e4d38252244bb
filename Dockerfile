# The service on SQLite, with the seed article; the same command as the README.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
COPY seeds ./seeds
COPY schema ./schema
RUN pip install --no-cache-dir -e .
EXPOSE 8000
CMD ["claims-ledger", "serve", "--host", "0.0.0.0", "--port", "8000", "--db", "/data/claims.sqlite"]
