# The service on SQLite, with the seed article; the same command as the README.

# GraphiQL's files (for --dev), from the npm registry as the lock file pins them.
FROM node:20-slim AS graphiql
WORKDIR /graphiql_ide
COPY service/api/graphiql_ide/package.json service/api/graphiql_ide/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
COPY seeds ./seeds
COPY schema ./schema
COPY --from=graphiql /graphiql_ide/node_modules ./service/api/graphiql_ide/node_modules
RUN pip install --no-cache-dir -e .
EXPOSE 8000
CMD ["claims-ledger", "serve", "--host", "0.0.0.0", "--port", "8000", "--db", "/data/claims.sqlite"]
