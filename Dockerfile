# netbot: one image for the bot (`python -m netbot`) and the threader (`python threader.py`).
FROM python:3.11-slim

# The side door's port, set here only: EXPOSE, the bot (NETBOT_HTTP_PORT overrides the YAML's
# http.port) and the HEALTHCHECK read it. compose.yaml passes NETBOT_HTTP_PORT from .env.
ARG HTTP_PORT=8080
# The side door is on and listens on every interface of the container, whatever the YAML says.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NETBOT_CONFIG=/app/config/netbot.yaml \
    NETBOT_HTTP_ENABLED=true \
    NETBOT_HTTP_HOST=0.0.0.0 \
    NETBOT_HTTP_PORT=${HTTP_PORT}

WORKDIR /app
# Runtime requirements only: no test or development tools in the image.
COPY requirements.txt .
RUN pip install -r requirements.txt

# Application files stay root-owned (read-only to the runtime user); it owns its data only.
RUN useradd --no-create-home --uid 10001 --user-group netbot \
 && mkdir -p /app/data \
 && chown netbot:netbot /app/data
COPY netbot ./netbot
COPY cogs ./cogs
COPY threader.py tickets.py ./
USER 10001:10001

VOLUME ["/app/data"]
EXPOSE ${HTTP_PORT}
# /healthz answers 200 when the gateway is connected and the database is reachable.
# (No curl in the slim image: Python asks; any error or non-2xx answer exits 1.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${NETBOT_HTTP_PORT}/healthz', timeout=4)"

CMD ["python", "-m", "netbot"]
