# The chat node, built on Debian 12 and run on debian:12-slim.
#   docker build -t chatd:dev .
#   docker run --rm -p 8080:8080 chatd:dev
# The libraries are Debian 12's own (CAF 0.17.6, Boost 1.81, spdlog 1.10),
# so the runtime stage installs the matching shared-library packages.

FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake g++ make pkg-config \
      libcaf-dev libboost1.81-dev nlohmann-json3-dev libspdlog-dev doctest-dev libssl-dev librocksdb-dev prometheus-cpp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The commit chat_build_info reports (.git is not in the build context):
#   docker build --build-arg CHAT_COMMIT=$(git rev-parse --short=12 HEAD) ...
ARG CHAT_COMMIT=unknown
# The image needs only the node: no tests, no benchmarks (doctest-dev stays so
# that the unit tests can be switched on for a build in the container).
RUN rm -rf build \
 && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DBUILD_BENCH=OFF -DCHAT_COMMIT="$CHAT_COMMIT" \
 && cmake --build build --target chatd --parallel "$(nproc)" \
 && strip build/chatd

FROM debian:12-slim AS runtime
# Runtime libraries of build/chatd (ldd): libcaf_core/libcaf_io/libcaf_openssl 0.17.6,
# libspdlog 1.10 (+ libfmt 9), libssl/libcrypto 3 (libssl3), librocksdb 7.8 (the history
# store; apt brings its compression libraries), libprometheus-cpp-core 1.0 (/metrics);
# libstdc++6, libgcc-s1
# and libc6 are already in debian:12-slim.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libcaf-core0.17 libcaf-io0.17 libcaf-openssl0.17 libspdlog1.10 libfmt9 libssl3 librocksdb7.8 libprometheus-cpp-core1.0 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 chat \
 && useradd --system --uid 10001 --gid chat --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin chat \
 && install -d -o 10001 -g 10001 /var/lib/chatd
COPY --from=build /src/build/chatd /usr/local/bin/chatd
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
WORKDIR /tmp
# The admin port (metrics, the full cluster view) listens on every address
# of the container; who may reach it is the network's call (the production
# overlay's NetworkPolicy admits only the monitoring namespace).
ENV CHAT_HTTP_ADDR=0.0.0.0 \
    CHAT_CLUSTER_ADDR=0.0.0.0 \
    CHAT_ADMIN_ADDR=0.0.0.0
EXPOSE 8080 9100 9180
# chatd drains on SIGTERM (the default stop signal) by itself.
ENTRYPOINT ["/usr/local/bin/chatd"]
