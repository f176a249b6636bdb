#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace chat::cluster {

/// Checks what CAF would only find out at the first connection: that the
/// certificate, key and CA files are readable PEM, that the key belongs to the
/// certificate and that the CA signed it. Returns the problem, or nullopt.
std::optional<std::string> check_tls_files(const std::string& cert, const std::string& key, const std::string& ca);

/// Logs failed TLS handshakes on the cluster port with spdlog, closes
/// connections that do not finish a handshake within 10 s, and sets
/// TCP_USER_TIMEOUT = `peer_timeout` on cluster sockets (see tls_audit.cpp for
/// why this is needed and how it works). Idempotent.
void enable_tls_audit(std::chrono::milliseconds peer_timeout);

} // namespace chat::cluster
