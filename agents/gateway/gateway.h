// Gateway: whistle's HTTP door. Open311 GeoReport v2 for citizens' apps and the 12345 hotline's
// work orders, served over HTTP/1.1 and forwarded to the dispatcher as an ordinary bus client.
//
//   HTTP clients ──► httplib::Server (thread pool) ──► ClientPool ──► dispatcher front door
//   dispatcher bus ──► follower thread ──► GatewayStore.Apply (orders, outbox, cursor)
//                                           └──► CallbackSender per hotline client ──► POST
//   dispatcher bus ──► ConsoleHub thread ──► the operations console's open pages (console.h)
//
// GET /metrics answers Prometheus (gateway_metrics.h), on a port of its own with metrics_listen;
// /console/ is the operations console when the configuration enables it.
//
// Every endpoint is listed in docs/GATEWAY.md with a curl session. Bad input gets a 4xx with an
// error document (Open311's error array, or {"error": …} on the hotline's JSON API) and creates
// nothing. The dispatcher may restart at any time: requests in flight are retried with the same
// request id (agents/client.h) and answered 503 only when it stays away; the follower resumes
// from its stored cursor.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <zmq.hpp>

#include "agents/client.h"
#include "agents/gateway/gateway_metrics.h"
#include "dispatcher/city.h"
#include "whistle/gateway.pb.h"
#include "whistle/metrics_http.h"
#include "whistle/status.h"

namespace httplib {
class ContentReader;
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace whistle::gateway {

class CallbackSender;
class ConsoleHub;
class ConsoleSessions;
struct ConsoleSession;
class GatewayStore;

// Checks a configuration: client names and keys well formed and unique, hotline clients with a
// callback URL. Fills defaults (listen address, body limit, jurisdiction, timeouts).
Result<pb::GatewayConfig> CheckGatewayConfig(pb::GatewayConfig config, const City& city);

class Gateway {
 public:
  // Opens the store, binds the HTTP port (and metrics_listen's) and starts serving, following and
  // delivering. Fails (UNAVAILABLE / BAD_REQUEST) when the store cannot open or a port cannot be
  // bound. `store_env`: the store's file I/O (GatewayStoreOptions::env; tests pass one wrapping
  // storage::FaultInjectionFs); not owned, must outlive the gateway.
  static Result<std::unique_ptr<Gateway>> Start(pb::GatewayConfig config,
                                                std::shared_ptr<const City> city,
                                                rocksdb::Env* store_env = nullptr);
  ~Gateway();  // Stop()
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  int port() const { return port_; }
  // "http://address:port"
  std::string base_url() const;
  // "http://address:port/metrics" of metrics_listen; "" without it (/metrics is on base_url).
  std::string metrics_url() const { return metrics_http_ ? metrics_http_->url() : ""; }
  // Blocks until Stop() is called from another thread (or a signal handler's thread).
  void Wait();
  // Stops serving, following and delivering; idempotent.
  void Stop();
  // OK while the gateway does all its work. Otherwise why it cannot go on: its store refused a
  // write (the follower's or a callback sender's), so it no longer follows the dispatcher nor
  // calls anything back, and only a restart (reopening the store) brings that back.
  // whistle-gateway exits on it; /healthz answers 503.
  Status Failure() const;

 private:
  Gateway(pb::GatewayConfig config, std::shared_ptr<const City> city);
  class ClientPool;
  struct Reply;

  void Route();
  void Follow();  // the follower thread
  std::string OwnPrincipal();  // the follower's first question to the dispatcher
  // The client whose key the request carries (api_key parameter, X-Api-Key header or Bearer
  // token), if any.
  const pb::GatewayClient* Authenticate(const httplib::Request& req) const;
  Result<pb::Response> Call(pb::Request request);

  // Open311 (open311_routes.cc).
  void Open311Discovery(const httplib::Request& req, httplib::Response& res);
  void Open311Services(const httplib::Request& req, httplib::Response& res);
  void Open311ServiceDefinition(const httplib::Request& req, httplib::Response& res);
  // Reads a POST's form under max_body_bytes itself, then Open311PostRequest: cpp-httplib would
  // refuse any url-encoded form over its own 8 KiB, about 900 Chinese characters percent-encoded.
  void Open311PostForm(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read);
  void Open311PostRequest(const httplib::Request& req, httplib::Response& res);
  void Open311GetRequests(const httplib::Request& req, httplib::Response& res);
  void Open311GetRequest(const httplib::Request& req, httplib::Response& res);
  void Open311Token(const httplib::Request& req, httplib::Response& res);
  void Open311Updates(const httplib::Request& req, httplib::Response& res);
  // Hotline (hotline_routes.cc).
  void HotlinePostOrder(const httplib::Request& req, httplib::Response& res);
  void HotlineGetOrder(const httplib::Request& req, httplib::Response& res);
  // The operations console (console_routes.cc).
  void RouteConsole();
  // Through the console's principal; with a ticket, on behalf of the person it names.
  Result<pb::Response> ConsoleCall(pb::Request request, const std::string& ticket);
  void ConsoleAnswer(httplib::Response& res, const Result<pb::Response>& answer,
                     const std::function<nlohmann::json(const pb::Response&)>& render);
  // The request's session, or nullopt with 401 answered.
  std::optional<ConsoleSession> ConsoleSessionOf(const httplib::Request& req, httplib::Response& res);
  // The session, if it exists, has not expired and its ticket still holds (checked with the
  // dispatcher when it was last checked console.recheck_seconds ago or more).
  std::optional<ConsoleSession> LiveSession(const std::string& id);
  void ConsoleLogin(const httplib::Request& req, httplib::Response& res);
  void ConsoleEvents(const httplib::Request& req, httplib::Response& res);
  void ConsoleRanks(const httplib::Request& req, httplib::Response& res);
  void ConsoleStreamRoute(const httplib::Request& req, httplib::Response& res);
  // GET /metrics.
  std::string Prometheus();

  pb::GatewayConfig config_;
  std::shared_ptr<const City> city_;
  zmq::context_t context_;
  ClientCredentials credentials_;  // for the dispatcher; none when it runs --dev-no-auth
  std::unique_ptr<ClientPool> clients_;
  GatewayMetrics metrics_;
  std::unique_ptr<GatewayStore> store_;
  // The console, when enabled.
  std::unique_ptr<ClientPool> console_clients_;
  std::unique_ptr<ConsoleSessions> sessions_;
  std::unique_ptr<ConsoleHub> hub_;
  std::string city_json_;
  std::vector<std::unique_ptr<CallbackSender>> senders_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<MetricsHttp> metrics_http_;  // with metrics_listen
  int port_ = 0;
  int64_t started_ms_ = 0;  // Open311 discovery's changeset: the configuration was read then
  std::thread http_thread_;
  std::thread follower_;
  std::atomic<bool> stopping_{false};
  // The dispatcher's log went back behind the stored cursor (Subscriber::rewound): not following.
  std::atomic<bool> feed_rewound_{false};
  mutable std::mutex failure_mu_;
  Status failure_;  // Failure()
  std::mutex stop_mu_;
};

// The HTTP status for a dispatcher status code: 400, 404, 409, 413, 403, 401, 503, 500.
int HttpStatusFor(pb::StatusCode code);

}  // namespace whistle::gateway
