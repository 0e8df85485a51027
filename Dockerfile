# syntax=docker/dockerfile:1
#
# toggl-focus-exporter container image.
#
#   docker build -t toggl-focus-exporter .
#   docker run --rm -p 10019:10019 toggl-focus-exporter --demo
#
# Stage 1 builds a wheel of the project and installs it with its dependencies into a
# virtualenv at /opt/venv. Stage 2 copies only that virtualenv onto a clean slim base:
# no build tools, no pip cache, no source tree. The image runs as a numeric non-root user
# and writes nothing at run time, so it works with a read-only root filesystem.
#
# tests/deploy/test_deploy_dockerfile.py runs the RUN step of the builder stage in a fresh
# virtualenv (no Docker engine needed), so keep them plain shell.

ARG PYTHON_VERSION=3.11.13

FROM python:${PYTHON_VERSION}-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
COPY pyproject.toml README.md LICENSE constraints.txt ./
COPY exporter/ ./exporter/

# Dependencies pinned by constraints.txt (the versions the tests ran with). The virtualenv
# gets no pip of its own: the build's pip installs into it (--python).
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && python -m venv --without-pip /opt/venv \
    && python -m pip --python /opt/venv/bin/python install --no-cache-dir -c constraints.txt /wheels/*.whl \
    && /opt/venv/bin/toggl-focus-exporter --version

FROM python:${PYTHON_VERSION}-slim-bookworm

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown

LABEL org.opencontainers.image.title="toggl-focus-exporter" \
      org.opencontainers.image.description="Prometheus exporter for Toggl Focus capacity planning data" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/toggl-focus-exporter/toggl-focus-exporter" \
      org.opencontainers.image.documentation="https://github.com/toggl-focus-exporter/toggl-focus-exporter/blob/main/docs/deploy.md"

# MALLOC_MMAP_THRESHOLD_: large exposition buffers go back to the OS at once, so RSS stays
# flat across refreshes (glibc's adaptive threshold otherwise keeps them; docs/performance.md).
ENV PATH="/opt/venv/bin:${PATH}" \
    MALLOC_MMAP_THRESHOLD_=131072 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TOGGL_FOCUS_LISTEN_ADDRESS="0.0.0.0:10019"

COPY --from=builder /opt/venv /opt/venv

USER 65532:65532
EXPOSE 10019

ENTRYPOINT ["toggl-focus-exporter"]
