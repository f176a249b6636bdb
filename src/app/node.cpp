#include "app/node.hpp"

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <boost/asio.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <spdlog/spdlog.h>

#include "app/supervisor.hpp"
#include "base/build_info.hpp"
#include "base/node_stats.hpp"
#include "chat/chat_server.hpp"
#include "chat/durable_store.hpp"
#include "chat/history_reader.hpp"
#include "chat/messages.hpp"
#include "chat/profile_store.hpp"
#include "cluster/cluster_tls.hpp"
#include "cluster/discovery.hpp"
#include "cluster/node_monitor.hpp"
#include "cluster/peer_cut.hpp"
#include "cluster/pg_scope.hpp"
#include "cluster/portal.hpp"
#include "net/io_lanes.hpp"
#include "net/listener.hpp"
#include "net/websocket_session.hpp"
#include "protocol/frames.hpp"

namespace chat {

namespace {

namespace asio = boost::asio;

/// Ends the process wait: set by a signal's drain or the supervisor's exit.
struct stop_latch {
  std::mutex mtx;
  std::condition_variable cv;
  bool done = false;
  int code = 0;

  void release(int c) {
    std::lock_guard<std::mutex> guard{mtx};
    if (!done) {
      done = true;
      code = c;
    }
    cv.notify_all();
  }

  int wait() {
    std::unique_lock<std::mutex> guard{mtx};
    cv.wait(guard, [&] { return done; });
    return code;
  }
};

/// Longest wait for CAF's own teardown once every actor of ours stopped.
constexpr auto teardown_limit = std::chrono::seconds(5);

/// The shortest time a connection counts as newly joined (see
/// chat_server_config::join_settle): the peer timeout when that is longer.
constexpr auto min_join_settle = std::chrono::milliseconds(2000);

/// After the drain's close frames, before the process stops: time for them
/// to leave, and for the clients' answers to come back.
constexpr auto close_settle = std::chrono::milliseconds(500);

/// RFC 6455's "going away": clients reconnect elsewhere.
constexpr std::uint16_t close_going_away = 1001;

/// With history in memory only, a client resuming with `since` gets what
/// followed its id, looking this far (microseconds) before it for messages
/// that arrived late from peers.
constexpr std::int64_t memory_resume_overlap_us = 5'000'000;

/// The supervisor gives up (and the node exits) after more restarts than
/// this within the period: a child that keeps dying is not transient.
const restart_intensity supervisor_intensity{5, std::chrono::seconds(10)};

bool cluster_tls(const config& cfg) { return !cfg.cluster_tls_cert.empty(); }

void configure_caf(caf::actor_system_config& cc, const config& cfg) {
  cc.load<caf::io::middleman>();
  if (cluster_tls(cfg)) {
    // Mutual TLS: with a CA set, CAF requires and verifies a certificate on
    // both sides of every cluster connection (SSL_VERIFY_PEER and
    // SSL_VERIFY_FAIL_IF_NO_PEER_CERT in caf::openssl::session).
    cc.load<caf::openssl::manager>();
    cc.openssl_certificate = cfg.cluster_tls_cert;
    cc.openssl_key = cfg.cluster_tls_key;
    cc.openssl_cafile = cfg.cluster_tls_ca;
  }
  add_message_types(cc);
  auto timeout = std::chrono::milliseconds(cfg.peer_timeout_ms);
  // BASP heartbeats every quarter of the timeout; a connection silent for the
  // whole timeout is closed and every proxy of that node goes down.
  cc.set("middleman.heartbeat-interval", caf::timespan{timeout / 4});
  cc.set("middleman.connection-timeout", caf::timespan{timeout});
  cc.set("scheduler.max-threads", static_cast<std::size_t>(cfg.workers));
  // CAF's default idle workers poll 500 times, 50 us apart, before they wait
  // on a condition variable: at chat rates (a message every few ms) they
  // never reach the wait, and those wake-ups cost more CPU than the
  // deliveries themselves (bench/, docs/benchmarks.md). Spin briefly, then wait.
  cc.set("work-stealing.moderate-poll-attempts", std::size_t{0});
  // Remote messages are read on the multiplexer and handed over from there,
  // not passed to a scheduler thread to deserialize first: the chat server
  // runs on the multiplexer too (chat/chat_server.hpp), so a peer's message
  // reaches it without a thread hand-off.
  cc.set("middleman.workers", std::size_t{0});
  cc.set("logger.console", caf::atom("none"));
}

std::vector<child_spec> children(const config& cfg, std::shared_ptr<history_store> store,
                                 std::shared_ptr<node_stats> stats) {
  auto unfinished = std::make_shared<unfinished_publishes>();
  auto connections = std::make_shared<local_connections>();
  chat_server_config cs;
  cs.node_name = cfg.node_name;
  cs.join_settle = std::max<std::chrono::milliseconds>(std::chrono::milliseconds(cfg.peer_timeout_ms), min_join_settle);
  cs.replicate_timeout = std::chrono::milliseconds(cfg.peer_timeout_ms);
  cs.peer_backlog_bytes = cfg.peer_backlog_bytes;
  cs.drop_peer = [client_port = cfg.http_port](caf::actor_system& sys, const caf::node_id& node) {
    cluster::drop_peer(sys, node, client_port);
  };
  // The chat server's fan-out shards match the scheduler threads.
  cs.fanout_shards = static_cast<std::size_t>(cfg.workers);
  cs.max_text_bytes = 4 * cfg.max_text_chars;
  cs.max_rooms = cfg.max_node_rooms;
  cluster::discovery_config dc;
  dc.dns_name = cfg.discovery_dns;
  dc.port = cfg.cluster_port;
  dc.peers = cfg.peers;
  dc.self_addr = cfg.advertise_addr;
  dc.self_port = cfg.cluster_port;
  dc.interval = std::chrono::milliseconds(cfg.discovery_interval_ms);
  dc.tls = cluster_tls(cfg);
  dc.first_round_listener = registry_name::chat_server;
  cluster::pg_limits groups;
  groups.valid_group = valid_group;
  return {
    {registry_name::pg_scope,
     [groups](caf::local_actor* sup) { return caf::actor_cast<caf::actor>(sup->spawn(cluster::pg_scope, groups)); }},
    {registry_name::node_monitor,
     [stats](caf::local_actor* sup) { return sup->spawn(cluster::node_monitor, stats, chat_servers_group); }},
    {registry_name::chat_server,
     [cs, store, unfinished, connections, stats](caf::local_actor* sup) {
       return caf::actor_cast<caf::actor>(
         sup->home_system().middleman().spawn_broker(chat_server, cs, store, unfinished, connections, stats));
     }},
    {registry_name::discovery,
     [dc, stats](caf::local_actor* sup) { return sup->spawn<caf::detached>(cluster::discovery, dc, stats); }},
    {registry_name::history_reader,
     [store](caf::local_actor* sup) { return sup->spawn<caf::detached>(history_reader, store); }},
    {registry_name::profile_store,
     [store, node = cfg.node_name](caf::local_actor* sup) {
       return caf::actor_cast<caf::actor>(sup->spawn(profile_store, store, node));
     }},
  };
}

// SIGTERM: stop being ready, tell every client to move, give them the grace
// period, then close. Connection actors end with their sessions, and the
// scope tells the peers that they left.
void drain(net::server_context& ctx, asio::io_context& ioc, std::shared_ptr<net::listener> lst, stop_latch& latch) {
  spdlog::info("draining: notice to {} connection(s), closing in {} ms", ctx.stats->connections.load(),
               ctx.cfg.drain_grace_ms);
  ctx.stats->draining = true;
  auto notice = std::make_shared<const std::string>(
    protocol::notice_frame("draining", "this node is shutting down; reconnect to another node"));
  for (auto& s : ctx.sessions.all())
    s->send(notice);
  auto timer = std::make_shared<asio::steady_timer>(ioc, std::chrono::milliseconds(ctx.cfg.drain_grace_ms));
  timer->async_wait([&ctx, &ioc, lst, timer, &latch](boost::system::error_code) {
    lst->stop();
    for (auto& s : ctx.sessions.all())
      s->close(close_going_away, "node shutting down");
    auto settle = std::make_shared<asio::steady_timer>(ioc, close_settle);
    settle->async_wait([settle, &latch](boost::system::error_code) { latch.release(0); });
  });
}

} // namespace

/// The history store --data-dir asks for, or memory; nullptr (logged) when
/// the directory cannot serve.
std::shared_ptr<history_store> open_store(const config& cfg) {
  if (cfg.data_dir.empty()) {
    spdlog::warn("history is kept in memory only (no --data-dir): a restart of every node loses it");
    return make_memory_store(cfg.history, memory_resume_overlap_us);
  }
  if (cfg.history_keep < cfg.history) {
    spdlog::critical("--history-keep {} is below --history {}: the window sent after subscribing must be on disk",
                     cfg.history_keep, cfg.history);
    return nullptr;
  }
  durable_options opts;
  opts.dir = cfg.data_dir;
  opts.window = cfg.history;
  opts.keep = cfg.history_keep;
  opts.cache_bytes = cfg.history_cache_bytes;
  opts.fsync = cfg.fsync;
  store_open_error err{};
  auto store = open_durable_store(opts, err);
  if (!store) {
    if (err.what == store_open_error::corrupt)
      spdlog::critical("history store in {} is corrupt ({}). To recover: move the directory away "
                       "(mv {} {}.corrupt) and start the node again; it starts empty and pulls the retained "
                       "history from its peers. Keep the moved copy until the cluster is whole.",
                       cfg.data_dir, err.detail, cfg.data_dir, cfg.data_dir);
    else
      spdlog::critical("cannot open the history store in {}: {}. The node needs a writable directory "
                       "(--data-dir, CHAT_DATA_DIR)",
                       cfg.data_dir, err.detail);
    return nullptr;
  }
  spdlog::info("history store: {} (newest {} messages per room kept{})", cfg.data_dir, cfg.history_keep,
               cfg.fsync ? ", acks wait for fsync" : "");
  return store;
}

int run_node(const config& cfg) {
  if (cluster_tls(cfg)) {
    if (auto err = cluster::check_tls_files(cfg.cluster_tls_cert, cfg.cluster_tls_key, cfg.cluster_tls_ca)) {
      spdlog::critical("cluster TLS: {}", *err);
      return 2;
    }
    cluster::enable_tls_audit(std::chrono::milliseconds(cfg.peer_timeout_ms));
  } else {
    spdlog::warn("cluster port {}:{} is PLAINTEXT and unauthenticated: anyone who reaches it joins the cluster, "
                 "reads every room and speaks as any user. Set --cluster-tls-cert, --cluster-tls-key and "
                 "--cluster-tls-ca (docs/config.md)",
                 cfg.cluster_addr, cfg.cluster_port);
  }
  auto store = open_store(cfg);
  if (!store)
    return 3;

  caf::actor_system_config cc;
  configure_caf(cc, cfg);
  caf::actor_system sys{cc};

  auto stats = std::make_shared<node_stats>();

  auto portal = sys.spawn(cluster::portal, cfg.public_url);
  auto published = cluster_tls(cfg) ? caf::openssl::publish(portal, cfg.cluster_port, cfg.cluster_addr.c_str(), true)
                                    : sys.middleman().publish(portal, cfg.cluster_port, cfg.cluster_addr.c_str(), true);
  if (!published) {
    spdlog::critical("cannot open cluster port {}:{}: {}", cfg.cluster_addr, cfg.cluster_port,
                     sys.render(published.error()));
    caf::anon_send_exit(portal, caf::exit_reason::user_shutdown);
    return 2;
  }

  stop_latch latch;
  auto sup = sys.spawn(supervisor, children(cfg, store, stats), supervisor_intensity, stats);
  sup->attach_functor([&latch](const caf::error& reason) {
    if (reason && reason != caf::exit_reason::user_shutdown)
      latch.release(1);
  });

  // Declared before the lanes: destroying a lane destroys the handlers still
  // queued in it, and with them sessions, which use the context on the way out.
  net::server_context ctx{sys, cfg, stats, store, {}, {}};
  net::io_lanes lanes{static_cast<std::size_t>(cfg.threads), &sys};
  ctx.lanes = &lanes;
  auto& ioc = lanes.main();
  std::shared_ptr<net::listener> lst;
  try {
    auto addr = asio::ip::make_address(cfg.http_addr);
    lst = std::make_shared<net::listener>(lanes, asio::ip::tcp::endpoint{addr, cfg.http_port}, ctx);
  } catch (const std::exception& e) {
    spdlog::critical("cannot listen on {}:{}: {}", cfg.http_addr, cfg.http_port, e.what());
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(portal, caf::exit_reason::user_shutdown);
    return 2;
  }
  lst->run();
  // Operators' port: outlives the drain, so metrics show it to the end.
  std::shared_ptr<net::listener> admin;
  if (cfg.admin_port != 0) {
    try {
      auto addr = asio::ip::make_address(cfg.admin_addr);
      admin = std::make_shared<net::listener>(lanes, asio::ip::tcp::endpoint{addr, cfg.admin_port}, ctx,
                                              net::port_role::admin_port);
    } catch (const std::exception& e) {
      spdlog::critical("cannot listen on the admin port {}:{}: {}", cfg.admin_addr, cfg.admin_port, e.what());
      lst->stop();
      caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(portal, caf::exit_reason::user_shutdown);
      return 2;
    }
    admin->run();
  }

  asio::signal_set signals{ioc, SIGINT, SIGTERM};
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (!ec) {
      spdlog::info("signal {}: shutting down", sig);
      drain(ctx, ioc, lst, latch);
    }
  });

  lanes.start();
  spdlog::info("node {} serving http://{}:{}/ cluster {}:{} ({}) admin {} version {} commit {}", cfg.node_name,
               cfg.http_addr, cfg.http_port, cfg.cluster_addr, cfg.cluster_port,
               cluster_tls(cfg) ? "mutual TLS" : "plaintext",
               admin ? fmt::format("http://{}:{}/", cfg.admin_addr, cfg.admin_port) : std::string("off"), build_version,
               build_commit);

  int code = latch.wait();
  lanes.stop();
  // No I/O thread runs now. Every actor stops before the lanes and the
  // sessions queued in them are destroyed: a connection actor or a health probe
  // still running would post to them. A session paused on its inbound bound
  // holds itself until reading resumes, which it no longer will.
  for (auto& s : ctx.sessions.all()) {
    s->abandon();
    if (s->actor())
      caf::anon_send_exit(s->actor(), caf::exit_reason::user_shutdown);
  }
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(portal, caf::exit_reason::user_shutdown);
  sys.await_all_actors_done();
  spdlog::info("node {} stopped (exit {})", cfg.node_name, code);
  // CAF 0.17's own teardown (~actor_system, after this returns) waits for
  // every detached actor to be destroyed; seen about once in fifteen
  // shutdowns of a loaded 3-node cluster, the discovery actor never was
  // (some reference to it outlives the queues that would release it) and
  // the process hung. Everything of ours has stopped by now: a teardown
  // that takes longer than this ends the process with the same code.
  std::thread([code] {
    std::this_thread::sleep_for(teardown_limit);
    spdlog::warn("shutdown: the actor system did not finish stopping in {} s; exiting",
                 std::chrono::duration_cast<std::chrono::seconds>(teardown_limit).count());
    std::_Exit(code);
  }).detach();
  return code;
}

} // namespace chat
