# bolservice: docker build -t bolservice . && docker run -p 8000:8000 -v bol-data:/data bolservice
# Any base with Python 3.11 whose pip and site-packages sit under /usr/local, as on
# python:3.11-slim; `make test-container` builds on a Debian bookworm base of its own.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE} AS build
WORKDIR /src
# The dependencies from the lock, each checked against its hash; then the project alone.
COPY requirements/run.lock ./requirements/
RUN pip install --no-cache-dir --prefix=/install --require-hashes -r requirements/run.lock
COPY pyproject.toml README.md ./
COPY bolservice ./bolservice
RUN pip install --no-cache-dir --prefix=/install --no-deps .

FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BOLSERVICE_ROOT=/data \
    BOLSERVICE_HOST=0.0.0.0 \
    BOLSERVICE_PORT=8000 \
    BOLSERVICE_LOG_FORMAT=json
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin bolservice \
    && mkdir /data && chown bolservice:bolservice /data
COPY --from=build /install /usr/local
USER bolservice
VOLUME ["/data"]
EXPOSE 8000
# /health answers 503 when the root is not writable, the disk is nearly full or the
# processing pool does not answer; urlopen raises on 503, so the check fails then.
HEALTHCHECK --interval=30s --timeout=20s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('BOLSERVICE_PORT', '8000'), timeout=15)"
CMD ["bolservice", "serve", "--host", "0.0.0.0"]
