# The contactgraph server image; compose.yaml runs it against Neo4j.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY contactgraph ./contactgraph
RUN pip install --no-cache-dir . && useradd --system --home-dir /data contactgraph \
    && mkdir -p /data && chown contactgraph /data
USER contactgraph
WORKDIR /data
ENV CONTACTGRAPH_HOST=0.0.0.0 \
    CONTACTGRAPH_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"
CMD ["contactgraph", "serve"]
