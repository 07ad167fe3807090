# The training container: one Fashion-MNIST training job, as a Vertex AI custom job or tuning
# trial runs it. Its entrypoint is the trainer's CLI; a tuning trial appends --<param>=<value>.
#
#   docker build -t trainer .                                  # CPU, data baked in
#   docker build --build-arg BAKE_DATA=false -t trainer .      # read --data-dir gs://... instead
#   docker build --build-arg GPU=true -t trainer-gpu .         # TensorFlow with CUDA
#
# BASE_IMAGE: any Debian bookworm image with python3 (3.11) and its venv module; the default is
# the pinned official one. .ci/build-image makes a local one with debootstrap where Docker Hub is
# out of reach, and builds and runs this file with buildah (no Docker engine needed).
#
# Behind a TLS-inspecting proxy, pip needs the proxy's CA bundle: mount it for the build and name
# it in PIP_CERT; it is read during the build only, never copied into the image (buildah/podman):
#   buildah bud -v /etc/ssl/certs:/etc/ssl/certs:ro \
#       --build-arg PIP_CERT=/etc/ssl/certs/ca-certificates.crt -t trainer .
ARG BASE_IMAGE=python:3.11.11-slim-bookworm
FROM ${BASE_IMAGE}

ARG BAKE_DATA=true
ARG GPU=false
ARG PIP_CERT
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    KERAS_BACKEND=tensorflow \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# Debian's dataset-fashion-mnist puts the four original files in /usr/share/datasets/fashion-mnist,
# the trainer's third place to look; without it, pass --data-dir gs://bucket/fashion-mnist.
RUN if [ "$BAKE_DATA" = "true" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends dataset-fashion-mnist \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
    && useradd --create-home --uid 1000 trainer \
    && python3 -m venv "$VIRTUAL_ENV"

WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY model_space/ model_space/
COPY trainer/ trainer/
COPY search/ search/
RUN pip install --upgrade pip \
    && pip install -c constraints.txt ".[tensorflow,vertex]" \
    && if [ "$GPU" = "true" ]; then \
      pip uninstall -y tensorflow-cpu && pip install "tensorflow[and-cuda]~=2.21.0"; \
    fi \
    && rm -rf build *.egg-info

# Run from the user's home, so the default --model-dir (models/<run name>) is writable.
USER trainer
WORKDIR /home/trainer
ENTRYPOINT ["python", "-m", "trainer.train"]
