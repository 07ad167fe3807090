# The training container: one Fashion-MNIST training job, as a Vertex AI custom job or tuning
# trial runs it. Its entrypoint is the trainer's CLI; a tuning trial appends --<param>=<value>.
#
#   docker build -t trainer .                                  # CPU, data baked in
#   docker build --build-arg BAKE_DATA=false -t trainer .      # read --data-dir gs://... instead
#   docker build --build-arg GPU=true -t trainer-gpu .         # TensorFlow with CUDA
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm
FROM ${PYTHON_IMAGE}

ARG BAKE_DATA=true
ARG GPU=false
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    KERAS_BACKEND=tensorflow

# Debian's dataset-fashion-mnist puts the four original files in /usr/share/datasets/fashion-mnist,
# the trainer's third place to look; without it, pass --data-dir gs://bucket/fashion-mnist.
RUN if [ "$BAKE_DATA" = "true" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends dataset-fashion-mnist \
      && rm -rf /var/lib/apt/lists/*; \
    fi

WORKDIR /app
COPY pyproject.toml README.md ./
COPY model_space/ model_space/
COPY trainer/ trainer/
COPY search/ search/
RUN pip install . \
    && if [ "$GPU" = "true" ]; then \
      pip uninstall -y tensorflow-cpu && pip install "tensorflow[and-cuda]~=2.21.0"; \
    fi

RUN useradd --create-home --uid 1000 trainer
USER trainer
ENTRYPOINT ["python", "-m", "trainer.train"]
