# netbot: one image for the bot (`python -m netbot`) and the threader (`python threader.py`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NETBOT_CONFIG=/app/config/netbot.yaml

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

RUN useradd --create-home --uid 10001 netbot && mkdir -p /app/data && chown netbot /app/data
COPY --chown=netbot:netbot . .
USER netbot

VOLUME ["/app/data"]
EXPOSE 8080
# /healthz answers 200 when the gateway is connected and the database is reachable.
# It needs `http.enabled: true` and `http.host: 0.0.0.0` in the configuration.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"

CMD ["python", "-m", "netbot"]
