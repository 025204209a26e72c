# The app environment: billing backend and gateway (one image, two commands).
#   docker build -f deploy/Dockerfile.app -t account-assistant-app .
FROM python:3.13-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/srv UV_SYSTEM_PYTHON=1
WORKDIR /srv
RUN pip install --no-cache-dir "uv==0.13.8"
COPY requirements/app.lock requirements/app.lock
RUN uv pip sync --system --no-cache requirements/app.lock
COPY bot/ bot/
RUN useradd --system --uid 10001 app && mkdir -p /srv/data && chown app /srv/data
USER app
# Each service sets its own command (docker-compose.yml, kubernetes/); the gateway by default.
EXPOSE 8080 8001
CMD ["python", "-m", "bot.gateway"]
