// app/config: flags over environment variables.

#include <doctest/doctest.h>

#include <cstdlib>
#include <thread>

#include "app/config.hpp"

using chat::config;

namespace {

const char* const all_env[] = {
  "CHAT_NODE_NAME",       "CHAT_HTTP_ADDR",       "CHAT_HTTP_PORT",
  "CHAT_CLUSTER_ADDR",    "CHAT_CLUSTER_PORT",    "CHAT_ADVERTISE_ADDR",
  "CHAT_DISCOVERY_DNS",   "CHAT_PEERS",           "CHAT_DISCOVERY_INTERVAL_MS",
  "CHAT_PEER_TIMEOUT_MS", "CHAT_HISTORY",         "CHAT_MAX_FRAME_BYTES",
  "CHAT_MAX_TEXT_CHARS",  "CHAT_MAX_ROOMS",       "CHAT_RATE_PER_S",
  "CHAT_BURST",           "CHAT_MAX_QUEUE_BYTES", "CHAT_IDLE_PING_MS",
  "CHAT_DRAIN_GRACE_MS",  "CHAT_AUTH_SECRET",     "CHAT_LOG_LEVEL",
  "CHAT_THREADS",         "CHAT_WORKERS",         "CHAT_DEBUG_ENDPOINTS",
};
const char* const tls_and_origin_env[] = {"CHAT_CLUSTER_TLS_CERT", "CHAT_CLUSTER_TLS_KEY", "CHAT_CLUSTER_TLS_CA",
                                          "CHAT_ALLOWED_ORIGINS"};

/// Clears every CHAT_* variable on entry and on exit, so tests neither see
/// the caller's environment nor leak into each other.
struct clean_env {
  clean_env() { clear(); }
  ~clean_env() { clear(); }
  static void clear() {
    for (const char* name : all_env)
      unsetenv(name);
    for (const char* name : tls_and_origin_env)
      unsetenv(name);
  }
  void set(const char* name, const char* value) { setenv(name, value, 1); }
};

struct parse_result {
  std::optional<std::string> error;
  config cfg;
  bool help = false;
};

parse_result parse(std::vector<std::string> args) {
  args.insert(args.begin(), "chatd");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  parse_result r;
  r.error = chat::parse_config(static_cast<int>(args.size()), argv.data(), r.cfg, r.help);
  return r;
}

config parsed(std::vector<std::string> args) {
  auto r = parse(std::move(args));
  if (r.error)
    FAIL_CHECK("unexpected error: " << *r.error);
  return r.cfg;
}

std::string error_of(std::vector<std::string> args) {
  auto r = parse(std::move(args));
  if (!r.error) {
    FAIL_CHECK("no error");
    return {};
  }
  return *r.error;
}

} // namespace

TEST_CASE("config defaults") {
  clean_env env;
  auto c = parsed({"--node-name", "n1"});
  CHECK(c.node_name == "n1");
  CHECK(c.http_addr == "0.0.0.0");
  CHECK(c.http_port == 8080);
  CHECK(c.cluster_addr == "0.0.0.0");
  CHECK(c.cluster_port == 9100);
  CHECK(c.advertise_addr == "0.0.0.0");
  CHECK(c.peers.empty());
  CHECK(c.history == 50);
  CHECK(c.max_frame_bytes == 65536);
  CHECK(c.max_text_chars == 4000);
  CHECK(c.max_rooms == 50);
  CHECK(c.rate_per_s == 20);
  CHECK(c.burst == 40);
  CHECK(c.max_queue_bytes == 4194304);
  CHECK(c.peer_backlog_bytes == 64u << 20);
  CHECK(c.auth_secret.empty());
  CHECK_FALSE(c.debug_endpoints);
  CHECK_FALSE(c.metrics_per_room);
}

TEST_CASE("config: no node name falls back to the host name") {
  clean_env env;
  auto r = parse({});
  // The host name is used when it is a valid node name; else an error says so.
  if (r.error)
    CHECK(r.error->find("node name") != std::string::npos);
  else
    CHECK_FALSE(r.cfg.node_name.empty());
}

TEST_CASE("config: I/O lanes and CAF workers default to half the cores, at least one") {
  CHECK(chat::default_threads(0) == 1); // unknown
  CHECK(chat::default_threads(1) == 1);
  CHECK(chat::default_threads(2) == 1);
  CHECK(chat::default_threads(8) == 4);
  CHECK(chat::default_threads(1000) == 64);
  clean_env env;
  env.set("CHAT_WORKERS", "3");
  auto c = parsed({"--node-name", "n1", "--threads", "2"});
  CHECK(c.threads == 2);
  CHECK(c.workers == 3);
}

TEST_CASE("config: flags in both forms") {
  clean_env env;
  auto c = parsed({"--node-name=n2", "--http-port", "8081", "--cluster-port=9200", "--history", "7", "--rate-per-s",
                   "2.5", "--burst=3", "--auth-secret", "s", "--log-level=debug", "--threads", "4",
                   "--max-text-chars=10", "--max-rooms", "3", "--http-addr", "127.0.0.1"});
  CHECK(c.node_name == "n2");
  CHECK(c.http_port == 8081);
  CHECK(c.cluster_port == 9200);
  CHECK(c.history == 7);
  CHECK(c.rate_per_s == 2.5);
  CHECK(c.burst == 3);
  CHECK(c.auth_secret == "s");
  CHECK(c.log_level == "debug");
  CHECK(c.threads == 4);
  CHECK(c.workers == chat::default_threads(std::thread::hardware_concurrency()));
  CHECK(c.max_text_chars == 10);
  CHECK(c.max_rooms == 3);
  CHECK(c.http_addr == "127.0.0.1");
  SUBCASE("an '=' in a --flag=value value is kept") {
    CHECK(parsed({"--node-name=n", "--auth-secret=a=b"}).auth_secret == "a=b");
  }
  SUBCASE("an empty --flag= value") { CHECK(parsed({"--node-name=n", "--auth-secret="}).auth_secret.empty()); }
}

TEST_CASE("config: environment variables") {
  clean_env env;
  env.set("CHAT_NODE_NAME", "envnode");
  env.set("CHAT_HTTP_PORT", "8500");
  env.set("CHAT_PEERS", "a:9100,b:9100");
  env.set("CHAT_RATE_PER_S", "0.5");
  env.set("CHAT_DEBUG_ENDPOINTS", "1");
  auto c = parsed({});
  CHECK(c.node_name == "envnode");
  CHECK(c.http_port == 8500);
  CHECK(c.peers == std::vector<std::string>{"a:9100", "b:9100"});
  CHECK(c.rate_per_s == 0.5);
  CHECK(c.debug_endpoints);
  SUBCASE("a flag beats its variable") {
    auto f = parsed({"--http-port", "8600", "--node-name=flagnode"});
    CHECK(f.http_port == 8600);
    CHECK(f.node_name == "flagnode");
    CHECK(f.peers.size() == 2); // untouched by flags
  }
  SUBCASE("a bad variable is an error naming it") {
    env.set("CHAT_HISTORY", "lots");
    auto e = error_of({});
    CHECK(e.find("CHAT_HISTORY") != std::string::npos);
    CHECK(e.find("lots") != std::string::npos);
  }
}

// Kubernetes hands a node its TLS files and origins as variables (a Secret
// mounted as files, named in the pod's env); a typo in a variable's name
// would leave the node in plaintext or same-origin only without a word.
TEST_CASE("config: cluster TLS files and allowed origins from the environment") {
  clean_env env;
  env.set("CHAT_NODE_NAME", "n");
  env.set("CHAT_CLUSTER_TLS_CERT", "/etc/chat/tls/tls.crt");
  env.set("CHAT_CLUSTER_TLS_KEY", "/etc/chat/tls/tls.key");
  env.set("CHAT_CLUSTER_TLS_CA", "/etc/chat/tls/ca.crt");
  env.set("CHAT_ALLOWED_ORIGINS", "https://chat.example.org,http://127.0.0.1:8080");
  auto c = parsed({});
  CHECK(c.cluster_tls_cert == "/etc/chat/tls/tls.crt");
  CHECK(c.cluster_tls_key == "/etc/chat/tls/tls.key");
  CHECK(c.cluster_tls_ca == "/etc/chat/tls/ca.crt");
  CHECK(c.allowed_origins == std::vector<std::string>{"https://chat.example.org", "http://127.0.0.1:8080"});
  SUBCASE("a flag beats its variable, the other variables still count") {
    // docs/config.md: "a flag wins over the variable".
    auto f = parsed({"--cluster-tls-ca", "/run/new-ca.crt", "--allowed-origins=*"});
    CHECK(f.cluster_tls_ca == "/run/new-ca.crt");
    CHECK(f.cluster_tls_cert == "/etc/chat/tls/tls.crt");
    CHECK(f.cluster_tls_key == "/etc/chat/tls/tls.key");
    CHECK(f.allowed_origins == std::vector<std::string>{"*"});
  }
  SUBCASE("an empty --allowed-origins= wins too: back to same origin only") {
    CHECK(parsed({"--allowed-origins="}).allowed_origins.empty());
  }
  SUBCASE("the three TLS settings go together, whichever way each is given") {
    unsetenv("CHAT_CLUSTER_TLS_KEY");
    CHECK(error_of({}).find("go together") != std::string::npos);
    CHECK(parsed({"--cluster-tls-key", "/run/tls.key"}).cluster_tls_key == "/run/tls.key");
  }
}

TEST_CASE("config: peers list") {
  clean_env env;
  CHECK(parsed({"--node-name=n", "--peers", "h1:9100,h2:9101,10.0.0.3:9100"}).peers
        == std::vector<std::string>{"h1:9100", "h2:9101", "10.0.0.3:9100"});
  CHECK(parsed({"--node-name=n", "--peers="}).peers.empty());
  CHECK(parsed({"--node-name=n", "--peers", "one:1"}).peers == std::vector<std::string>{"one:1"});
}

TEST_CASE("config: advertise address") {
  clean_env env;
  SUBCASE("defaults to the cluster address") {
    CHECK(parsed({"--node-name=n", "--cluster-addr", "10.1.2.3"}).advertise_addr == "10.1.2.3");
  }
  SUBCASE("an explicit one wins") {
    auto c = parsed({"--node-name=n", "--cluster-addr", "0.0.0.0", "--advertise-addr", "pod-1.chat"});
    CHECK(c.advertise_addr == "pod-1.chat");
    CHECK(c.cluster_addr == "0.0.0.0");
  }
}

TEST_CASE("config: --debug-endpoints") {
  clean_env env;
  SUBCASE("without a value it is on") { CHECK(parsed({"--node-name=n", "--debug-endpoints"}).debug_endpoints); }
  SUBCASE("followed by another flag, that flag is still read") {
    auto c = parsed({"--debug-endpoints", "--node-name", "n"});
    CHECK(c.debug_endpoints);
    CHECK(c.node_name == "n");
  }
  SUBCASE("explicit values") {
    CHECK(parsed({"--node-name=n", "--debug-endpoints=1"}).debug_endpoints);
    CHECK(parsed({"--node-name=n", "--debug-endpoints=true"}).debug_endpoints);
    CHECK_FALSE(parsed({"--node-name=n", "--debug-endpoints=0"}).debug_endpoints);
  }
  SUBCASE("the variable can turn it off, the flag on again") {
    env.set("CHAT_DEBUG_ENDPOINTS", "0");
    CHECK_FALSE(parsed({"--node-name=n"}).debug_endpoints);
    CHECK(parsed({"--node-name=n", "--debug-endpoints"}).debug_endpoints);
  }
}

TEST_CASE("config errors") {
  clean_env env;
  SUBCASE("unknown flag") {
    auto e = error_of({"--node-name=n", "--no-such-flag", "1"});
    CHECK(e.find("no-such-flag") != std::string::npos);
    CHECK(error_of({"--node-name=n", "--no-such-flag=1"}).find("no-such-flag") != std::string::npos);
  }
  SUBCASE("not a flag") { CHECK(error_of({"--node-name=n", "stray"}).find("stray") != std::string::npos); }
  SUBCASE("single dash") { CHECK_FALSE(error_of({"-node-name", "n"}).empty()); }
  SUBCASE("a flag without its value") {
    CHECK(error_of({"--node-name=n", "--http-port"}).find("http-port") != std::string::npos);
  }
  SUBCASE("bad numbers") {
    for (std::vector<std::string> args : {std::vector<std::string>{"--http-port", "abc"},
                                          {"--http-port", "80x"},
                                          {"--http-port", ""},
                                          {"--http-port", "0"},
                                          {"--http-port", "65536"},
                                          {"--http-port", "-1"},
                                          {"--history", "0"},
                                          {"--rate-per-s", "fast"},
                                          {"--burst", "0.5"},
                                          {"--threads", "65"},
                                          {"--peer-backlog-bytes", "4095"},
                                          {"--max-frame-bytes", "100"}}) {
      CAPTURE(args[0]);
      CAPTURE(args[1]);
      args.insert(args.begin(), "--node-name=n");
      auto e = error_of(args);
      CHECK(e.find(args[1]) != std::string::npos);             // the flag
      CHECK(e.find("'" + args[2] + "'") != std::string::npos); // the value
    }
  }
  SUBCASE("range limits are inclusive") {
    CHECK(parsed({"--node-name=n", "--http-port", "1"}).http_port == 1);
    CHECK(parsed({"--node-name=n", "--http-port", "65535"}).http_port == 65535);
    CHECK(parsed({"--node-name=n", "--peer-backlog-bytes", "4096"}).peer_backlog_bytes == 4096);
  }
  SUBCASE("booleans are 1, 0, true or false, nothing else") {
    CHECK(parsed({"--node-name=n", "--metrics-per-room", "1"}).metrics_per_room);
    CHECK(parsed({"--node-name=n", "--metrics-per-room=true"}).metrics_per_room);
    CHECK_FALSE(parsed({"--node-name=n", "--metrics-per-room", "0"}).metrics_per_room);
    CHECK_FALSE(parsed({"--node-name=n", "--metrics-per-room=false"}).metrics_per_room);
    for (const char* bad : {"yes", "", "2", "on"}) {
      CAPTURE(bad);
      auto e = error_of({"--node-name=n", "--metrics-per-room", bad});
      CHECK(e.find("metrics-per-room") != std::string::npos);
    }
  }
  SUBCASE("an invalid node name") { CHECK(error_of({"--node-name", "a b"}).find("node name") != std::string::npos); }
}

TEST_CASE("config: --help") {
  clean_env env;
  auto r = parse({"--node-name=n", "--help", "--no-such-flag"});
  CHECK(r.help);
  CHECK_FALSE(r.error.has_value());
  CHECK(parse({"-h"}).help);
  auto usage = chat::config_usage();
  CHECK(usage.find("--http-port") != std::string::npos);
  CHECK(usage.find("CHAT_HTTP_PORT") != std::string::npos);
}

TEST_CASE("config: 'nan' is not a number") {
  clean_env env;
  for (const char* flag : {"--rate-per-s", "--burst", "--history", "--http-port"}) {
    CAPTURE(flag);
    auto r = parse({"--node-name=n", flag, "nan"});
    CHECK(r.error.has_value());
  }
}
