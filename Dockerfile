# textgen serve in a container: slim Python, torch, non-root, health-checked.
#
#   docker build --build-arg TORCH_INDEX=<CPU wheel index> -t textgen .   # CPU torch: see TORCH_INDEX
#   docker run -p 8000:8000 textgen                                     # the shipped models (checkpoints/)
#   docker run -p 8000:8000 -v "$PWD/runs:/runs:ro" textgen tang mine=/runs/tang   # + a run of your own
#   docker compose up                                                   # + Redis (compose.yaml)
#
# Build args:
#   BASE           the Python base image (default python:3.11-slim)
#   TORCH_VERSION  torch release to install (default 2.13.0)
#   TORCH_INDEX    an extra pip index for torch. Left empty, plain `pip install torch`, which on
#                  Linux x86_64 is the CUDA build (several GB of GPU libraries this image never uses).
#                  For the small CPU image, pass PyTorch's CPU wheel index (the --index-url its install
#                  selector gives for "Compute Platform: CPU"); pip then takes torch==X+cpu from it:
#                    docker build --build-arg TORCH_INDEX=<that index> -t textgen .
#                  The build prints the torch it installed: "+cpu" and "CUDA None" for the CPU one.
ARG BASE=python:3.11-slim
FROM ${BASE}

ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX=

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TEXTGEN_HOME=/tmp/textgen \
    TEXTGEN_CHECKPOINTS=/app/checkpoints:/models

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin textgen

# torch first and on its own layer: it is by far the largest and changes least often.
RUN python -m pip install ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"} "torch==${TORCH_VERSION}" && \
    python -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda)"

WORKDIR /app
COPY pyproject.toml README.md ./
COPY textgen ./textgen
COPY service ./service
RUN python -m pip install . && rm -rf /app/build

# The shipped models (checkpoints/<name>/model.safetensors), served by name; folders of the same
# shape mounted under /models are found too.
COPY checkpoints ./checkpoints
RUN mkdir -p /models

USER textgen
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]

# Arguments after the image name choose the models ([NAME=]CHECKPOINT ...); with none, TEXTGEN_MODELS,
# and without that every shipped model.
ENTRYPOINT ["textgen", "serve", "--host", "0.0.0.0", "--port", "8000"]
CMD []
