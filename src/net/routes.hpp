#pragma once

#include <string>
#include <variant>

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "net/server_context.hpp"
#include "protocol/token.hpp"

namespace chat::net {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;

/// Answers every plain HTTP request. On the public port: the page, health,
/// the history API and the public cluster view. On the admin port: health,
/// metrics, the full cluster view and (with --debug-endpoints) the fault
/// hooks.
http_response handle_request(server_context& ctx, const http_request& req, port_role role);

/// `{"error": code, "message": text}` with the given status.
http_response json_error(const http_request& req, boost::beast::http::status status, const std::string& code,
                         const std::string& message);

/// A JSON body with the given status.
http_response json_reply(const http_request& req, boost::beast::http::status status, const nlohmann::json& body);

/// The claims of the token a request carries (?token= or Authorization:
/// Bearer), checked against the node's auth secret; or the 401 to answer
/// when there is none or it is invalid or expired.
std::variant<protocol::token_claims, http_response> checked_token(server_context& ctx, const http_request& req);

/// /healthz: 200 when `error` is empty (the chat server answered), else 503.
http_response health_response(server_context& ctx, const http_request& req, const std::string& error);

} // namespace chat::net
