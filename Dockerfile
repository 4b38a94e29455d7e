# hubbot as a Docker Space (or any container host).
# Build: docker build -t hubbot .   Run: docker run -p 7860:7860 -e HF_TOKEN -e WEBHOOK_SECRET hubbot

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=docker
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/hubbot .

FROM debian:bookworm-slim
# git for custom `run` actions, certificates for the Hub.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git git-lfs tini \
 && rm -rf /var/lib/apt/lists/*
# Spaces run containers as uid 1000.
RUN useradd -m -u 1000 user && mkdir -p /data && chown user:user /data
USER user
ENV HOME=/home/user \
    PORT=7860 \
    HUBBOT_DATA=/data \
    HUBBOT_CONFIG=/home/user/app/config.toml
WORKDIR /home/user/app
COPY --chown=user --from=build /out/hubbot /usr/local/bin/hubbot
COPY --chown=user config.toml ./config.toml
EXPOSE 7860
ENTRYPOINT ["/usr/bin/tini", "--", "hubbot"]
CMD ["serve"]
