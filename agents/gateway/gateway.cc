#include "agents/gateway/gateway.h"

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <utility>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "agents/gateway/callback_sender.h"
#include "agents/gateway/console.h"
#include "agents/gateway/gateway_store.h"
#include "agents/gateway/order_tracker.h"

namespace whistle::gateway {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kDefaultMaxBodyBytes = 64 * 1024;
constexpr uint32_t kDefaultCallbackTimeoutMs = 5000;
constexpr uint32_t kDefaultMaxBackoffMs = 60000;
constexpr size_t kMinApiKeyBytes = 16;
constexpr size_t kFollowBatch = 512;
constexpr size_t kApiThreads = 8;
constexpr uint32_t kDefaultConsoleStreams = 32;
constexpr uint32_t kDefaultSessionHours = 12;
constexpr uint32_t kDefaultRecheckSeconds = 30;
constexpr uint32_t kMaxConsoleStreams = 1000;

// Compares without an early exit, so the time taken says nothing about where keys differ.
bool SameKey(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

}  // namespace

int HttpStatusFor(pb::StatusCode code) {
  switch (code) {
    case pb::STATUS_OK: return 200;
    case pb::STATUS_BAD_REQUEST: return 400;
    case pb::STATUS_NOT_FOUND: return 404;
    case pb::STATUS_UNAUTHENTICATED: return 401;
    case pb::STATUS_PERMISSION_DENIED: return 403;
    case pb::STATUS_TOO_LARGE: return 413;
    case pb::STATUS_BUSY:
    case pb::STATUS_UNAVAILABLE: return 503;
    case pb::STATUS_ILLEGAL_TRANSITION:
    case pb::STATUS_ALREADY_CLAIMED:
    case pb::STATUS_STALE_CLAIM:
    case pb::STATUS_NOT_ASSIGNED:
    case pb::STATUS_IDEMPOTENCY_MISMATCH: return 409;
    default: return 500;
  }
}

Result<pb::GatewayConfig> CheckGatewayConfig(pb::GatewayConfig c, const City& city) {
  if (c.listen_address().empty()) c.set_listen_address("127.0.0.1");
  if (c.port() > 65535) return BadRequest(fmt::format("port {} is not a TCP port", c.port()));
  if (c.front_endpoint().empty() || c.bus_endpoint().empty()) {
    return BadRequest("the gateway needs the dispatcher's front_endpoint and bus_endpoint");
  }
  if (c.data_dir().empty()) c.set_data_dir("data/gateway");
  if (!c.metrics_listen().empty()) {
    if (Status s = MetricsHttp::CheckAddress(c.metrics_listen()); !s.ok()) return s;
  }
  if (c.max_body_bytes() == 0) c.set_max_body_bytes(kDefaultMaxBodyBytes);
  if (c.jurisdiction_id().empty()) c.set_jurisdiction_id(city.config().city_code());
  if (c.callback_timeout_ms() == 0) c.set_callback_timeout_ms(kDefaultCallbackTimeoutMs);
  if (c.callback_max_backoff_ms() == 0) c.set_callback_max_backoff_ms(kDefaultMaxBackoffMs);
  if (c.console().enabled()) {
    pb::ConsoleConfig* console = c.mutable_console();
    if (console->max_streams() == 0) console->set_max_streams(kDefaultConsoleStreams);
    if (console->max_streams() > kMaxConsoleStreams) {
      return BadRequest(fmt::format("console.max_streams is at most {}", kMaxConsoleStreams));
    }
    if (console->session_hours() == 0) console->set_session_hours(kDefaultSessionHours);
    if (console->recheck_seconds() == 0) console->set_recheck_seconds(kDefaultRecheckSeconds);
    if (console->session_hours() > 24) return BadRequest("console.session_hours is at most 24");
    if (!c.key_file().empty() && console->key_file().empty()) {
      return BadRequest("console.key_file is required with a key_file: the console is a principal of role console");
    }
  }
  for (int i = 0; i < c.clients_size(); ++i) {
    const pb::GatewayClient& client = c.clients(i);
    std::string node = fmt::format("client #{} '{}'", i, client.name());
    if (!IsValidClientName(client.name())) {
      return BadRequest(node + ": a name is 1..32 characters of a-z, 0-9, _ and -");
    }
    if (client.api_key().size() < kMinApiKeyBytes) {
      return BadRequest(fmt::format("{}: an api_key has at least {} characters", node, kMinApiKeyBytes));
    }
    if (client.kind() != pb::GatewayClient::KIND_OPEN311 && client.kind() != pb::GatewayClient::KIND_HOTLINE) {
      return BadRequest(node + ": kind must be KIND_OPEN311 or KIND_HOTLINE");
    }
    if (client.kind() == pb::GatewayClient::KIND_HOTLINE && !client.callback_url().starts_with("http://") &&
        !client.callback_url().starts_with("https://")) {
      return BadRequest(node + ": a hotline client needs an http:// or https:// callback_url");
    }
    for (int j = 0; j < i; ++j) {
      if (c.clients(j).name() == client.name()) return BadRequest(node + ": duplicate name");
      if (c.clients(j).api_key() == client.api_key()) return BadRequest(node + ": api_key is shared");
    }
  }
  return c;
}

// Clients for the HTTP threads: a Client is single-threaded, so each request borrows one.
class Gateway::ClientPool {
 public:
  ClientPool(zmq::context_t& context, std::string front, ClientCredentials credentials, GatewayMetrics& metrics)
      : context_(context), front_(std::move(front)), credentials_(std::move(credentials)), metrics_(metrics) {}

  Result<pb::Response> Call(pb::Request request) {
    std::unique_ptr<Client> client;
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        client = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    // About 10 s of retries with the same request id ride out a dispatcher restart.
    if (!client) {
      client = std::make_unique<Client>(context_, front_, ClientOptions{2000ms, 5, 100ms, credentials_});
    }
    auto answer = client->Call(std::move(request));
    metrics_.CountDispatcherAnswer(answer.ok() ? answer->code() : answer.status().code());
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(client));
    return answer;
  }

 private:
  zmq::context_t& context_;
  std::string front_;
  ClientCredentials credentials_;
  GatewayMetrics& metrics_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Client>> idle_;
};

Gateway::Gateway(pb::GatewayConfig config, std::shared_ptr<const City> city)
    : config_(std::move(config)), city_(std::move(city)) {}

Result<std::unique_ptr<Gateway>> Gateway::Start(pb::GatewayConfig config,
                                                std::shared_ptr<const City> city,
                                                rocksdb::Env* store_env) {
  auto checked = CheckGatewayConfig(std::move(config), *city);
  if (!checked.ok()) return checked.status();
  std::unique_ptr<Gateway> g(new Gateway(std::move(checked).value(), std::move(city)));
  std::error_code ec;
  std::filesystem::create_directories(g->config_.data_dir(), ec);  // Open names any failure
  auto store = GatewayStore::Open(g->config_.data_dir(), GatewayStoreOptions{.env = store_env});
  if (!store.ok()) return store.status();
  g->store_ = std::move(store).value();
  auto credentials = ReadCredentials(g->config_.key_file());
  if (!credentials.ok()) return credentials.status();
  g->credentials_ = std::move(credentials).value();
  g->clients_ = std::make_unique<ClientPool>(g->context_, g->config_.front_endpoint(), g->credentials_, g->metrics_);
  if (g->config_.console().enabled()) {
    auto console_credentials = ReadCredentials(g->config_.console().key_file());
    if (!console_credentials.ok()) return console_credentials.status();
    g->console_clients_ = std::make_unique<ClientPool>(g->context_, g->config_.front_endpoint(),
                                                       *console_credentials, g->metrics_);
    g->sessions_ = std::make_unique<ConsoleSessions>(std::chrono::hours(g->config_.console().session_hours()));
    g->city_json_ = CityJson(*g->city_).dump();
    g->hub_ = std::make_unique<ConsoleHub>(g->context_, g->config_.bus_endpoint(), g->config_.front_endpoint(),
                                           *console_credentials, g->config_.console().max_streams());
  }
  for (const pb::GatewayClient& client : g->config_.clients()) {
    if (client.kind() != pb::GatewayClient::KIND_HOTLINE) continue;
    auto sender = CallbackSender::Start(
        *g->store_, SenderOptionsFor(g->config_, client, g->city_->settings().utc_offset_minutes()));
    if (!sender.ok()) return sender.status();
    g->senders_.push_back(std::move(sender).value());
  }

  // Before the public port: nothing can fail after that is bound (an httplib server bound and not
  // listening cannot be stopped). What the scrape reads exists by now.
  if (!g->config_.metrics_listen().empty()) {
    auto metrics = MetricsHttp::Start(g->config_.metrics_listen(), [self = g.get()] { return self->Prometheus(); });
    if (!metrics.ok()) return metrics.status();
    g->metrics_http_ = std::move(metrics).value();
  }
  g->http_ = std::make_unique<httplib::Server>();
  // Each open console page holds a thread for its stream: room for them besides the APIs.
  size_t threads = kApiThreads + (g->hub_ ? g->config_.console().max_streams() : 0);
  g->http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  g->Route();
  int port = static_cast<int>(g->config_.port());
  if (port == 0) {
    port = g->http_->bind_to_any_port(g->config_.listen_address());
  } else if (!g->http_->bind_to_port(g->config_.listen_address(), port)) {
    port = -1;
  }
  if (port < 0) {
    return Unavailable(fmt::format("cannot listen on {}:{}", g->config_.listen_address(), g->config_.port()));
  }
  g->port_ = port;
  g->started_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  Gateway* self = g.get();
  g->http_thread_ = std::thread([self] { self->http_->listen_after_bind(); });
  // httplib's stop() does nothing before the accept loop runs: wait for it, so Stop() always
  // stops.
  while (!g->http_->is_running()) std::this_thread::sleep_for(1ms);
  g->follower_ = std::thread([self] { self->Follow(); });
  return g;
}

Gateway::~Gateway() { Stop(); }

std::string Gateway::base_url() const {
  return fmt::format("http://{}:{}", config_.listen_address(), port_);
}

void Gateway::Wait() {
  if (http_thread_.joinable()) http_thread_.join();
}

Status Gateway::Failure() const {
  // A write refused anywhere (the follower's, or a callback sender's record of a delivery)
  // leaves the store refusing every later one.
  if (Status s = store_->health(); !s.ok()) return s;
  std::lock_guard lock(failure_mu_);
  return failure_;
}

void Gateway::Stop() {
  std::lock_guard lock(stop_mu_);
  if (stopping_.exchange(true)) return;
  if (hub_) hub_->Stop();  // ends every console stream, so their threads return
  if (metrics_http_) metrics_http_->Stop();  // its answers read the store
  if (http_) http_->stop();
  if (http_thread_.joinable() && http_thread_.get_id() != std::this_thread::get_id()) http_thread_.join();
  if (follower_.joinable()) follower_.join();
  for (auto& s : senders_) s->Stop();
}

Result<pb::Response> Gateway::Call(pb::Request request) { return clients_->Call(std::move(request)); }

std::string Gateway::Prometheus() {
  PrometheusText out;
  metrics_.WriteTo(out);
  out.Gauge("whistle_gateway_feed_seq", "The dispatcher record the gateway's follower has applied.");
  out.Sample("whistle_gateway_feed_seq", static_cast<double>(store_->cursor()));
  out.Gauge("whistle_gateway_feed_rewound",
            "1 when the dispatcher's log went back behind the follower's cursor, which stopped.");
  out.Sample("whistle_gateway_feed_rewound", feed_rewound_.load() ? 1 : 0);
  out.Gauge("whistle_gateway_callbacks_pending", "Hotline callbacks waiting in the outbox.");
  auto pending = store_->PendingCount();
  out.Sample("whistle_gateway_callbacks_pending", pending.ok() ? static_cast<double>(*pending) : std::nan(""));
  out.Counter("whistle_gateway_callbacks_delivered_total", "Hotline callbacks delivered, by client.");
  for (const auto& sender : senders_) {
    out.Sample("whistle_gateway_callbacks_delivered_total", {{"client", sender->client()}},
               static_cast<double>(sender->delivered()));
  }
  out.Counter("whistle_gateway_callback_failures_total", "Hotline callback attempts that failed, by client.");
  for (const auto& sender : senders_) {
    out.Sample("whistle_gateway_callback_failures_total", {{"client", sender->client()}},
               static_cast<double>(sender->failed_attempts()));
  }
  if (hub_) {
    out.Gauge("whistle_gateway_console_streams", "Operations console pages open now.");
    out.Sample("whistle_gateway_console_streams", static_cast<double>(hub_->streams()));
    out.Gauge("whistle_gateway_console_sessions", "Operations console logins open now.");
    out.Sample("whistle_gateway_console_sessions", static_cast<double>(sessions_->size()));
    out.Counter("whistle_gateway_console_records_total", "Records pushed to the console's pages.");
    out.Sample("whistle_gateway_console_records_total", static_cast<double>(hub_->records_pushed()));
    out.Counter(
        "whistle_gateway_console_boards_total",
        "Boards the console's hub got from the dispatcher: whole, or only the grids changed since "
        "its last one.");
    out.Sample("whistle_gateway_console_boards_total", {{"answer", "whole"}},
               static_cast<double>(hub_->boards_whole()));
    out.Sample("whistle_gateway_console_boards_total", {{"answer", "changes"}},
               static_cast<double>(hub_->boards_of_changes()));
  }
  return out.Take();
}

const pb::GatewayClient* Gateway::Authenticate(const httplib::Request& req) const {
  std::string key = req.get_param_value("api_key");
  if (key.empty()) key = req.get_header_value("X-Api-Key");
  if (key.empty()) {
    std::string auth = req.get_header_value("Authorization");
    if (auth.starts_with("Bearer ")) key = auth.substr(7);
  }
  if (key.empty()) return nullptr;
  const pb::GatewayClient* found = nullptr;
  for (const pb::GatewayClient& c : config_.clients()) {
    if (SameKey(c.api_key(), key)) found = &c;  // no early exit: every key is compared
  }
  return found;
}

// The principal this gateway acts as, from the dispatcher (WhoAmI): only its submissions are
// hotline orders. Asked until the dispatcher answers; "" when the gateway stops first.
std::string Gateway::OwnPrincipal() {
  // Quick calls, as the follower's own: Stop() waits for this thread.
  Client client(context_, config_.front_endpoint(),
                ClientOptions{.timeout = 1000ms, .attempts = 2, .busy_pause = 100ms, .credentials = credentials_});
  for (bool said = false; !stopping_.load();) {
    pb::Request whoami;
    whoami.mutable_whoami();
    auto answer = client.Call(std::move(whoami));
    if (answer.ok() && answer->code() == pb::STATUS_OK && !answer->principal().name().empty()) {
      return answer->principal().name();
    }
    if (!std::exchange(said, true)) {  // once: a dispatcher away for an hour is one line
      std::fprintf(stderr,
                   "whistle-gateway: asking the dispatcher who this gateway is: %s; trying again every second\n",
                   answer.ok() ? answer->message().c_str() : answer.status().ToString().c_str());
    }
    for (int i = 0; i < 10 && !stopping_.load(); ++i) std::this_thread::sleep_for(100ms);
  }
  return "";
}

// Follows the dispatcher's change feed into the store; a lost dispatcher is waited for, and
// following resumes after the stored cursor.
void Gateway::Follow() {
  const std::string own_principal = OwnPrincipal();
  while (!stopping_.load()) {
    // Quick calls: a catch-up that fails is tried again below, and Stop() waits for this thread.
    Subscriber subscriber(context_, config_.bus_endpoint(), config_.front_endpoint(), store_->cursor(),
                          ClientOptions{.timeout = 1000ms, .attempts = 2, .busy_pause = 100ms, .credentials = credentials_},
                          store_->cursor_mark());
    std::vector<pb::Record> batch;
    bool healthy = true;
    while (healthy && !stopping_.load()) {
      auto next = subscriber.Next(batch.empty() ? 200ms : 0ms);
      if (!next.ok() && subscriber.rewound()) {
        // Following on would skip every record numbered up to the cursor, and send callbacks
        // for events that reuse lost events' ids: wait for the operator, saying so once.
        if (!feed_rewound_.exchange(true)) {
          std::fprintf(stderr,
                       "whistle-gateway: NOT following the dispatcher: %s. This gateway's data directory "
                       "holds changes the dispatcher no longer has: restore it from a copy no newer than "
                       "the dispatcher's (docs/OPERATIONS.md, \"Backups\"). Trying again every second.\n",
                       next.status().ToString().c_str());
        }
        healthy = false;
      } else if (!next.ok()) {
        std::fprintf(stderr, "whistle-gateway: following the dispatcher: %s; trying again\n",
                     next.status().ToString().c_str());
        healthy = false;
      } else if (next->has_value()) {
        batch.push_back(std::move(**next));
        if (batch.size() < kFollowBatch) continue;
      }
      if (batch.empty()) continue;
      if (Status s = store_->Apply(batch, own_principal); !s.ok()) {
        // The store refuses every write from now on: only a restart reopens it (Failure()).
        std::fprintf(stderr, "whistle-gateway: cannot record hotline changes: %s\n", s.ToString().c_str());
        std::lock_guard lock(failure_mu_);
        failure_ = Status(s.code(), "cannot record hotline changes: " + s.message());
        return;
      }
      batch.clear();
      // Following again (the dispatcher got its store back); not the records read before a stop.
      if (healthy) feed_rewound_.store(false);
      for (auto& sender : senders_) sender->Notify();
    }
    for (int i = 0; i < 10 && !stopping_.load(); ++i) std::this_thread::sleep_for(100ms);
  }
}

}  // namespace whistle::gateway
