# The missionlink binary on a slim base, run as a non-root user.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin missionlink

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/missionlink --create-home missionlink
COPY --from=build /src/target/release/missionlink /usr/local/bin/missionlink
USER missionlink
WORKDIR /var/lib/missionlink
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/missionlink"]
CMD ["serve"]
