#include "agents/gateway/callback_sender.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "agents/gateway/order_tracker.h"
#include "dispatcher/iso8601.h"

namespace whistle::gateway {
namespace {

bool IsPrintableAscii(char c) { return c > ' ' && c <= '~'; }

}  // namespace

Result<CallbackUrl> ParseCallbackUrl(std::string_view url) {
  auto bad = [url](std::string_view why) {
    return BadRequest(fmt::format("callback URL '{}' {}", url, why));
  };
  if (!std::all_of(url.begin(), url.end(), IsPrintableAscii)) {
    return bad("has spaces or characters outside printable ASCII: percent-encode them");
  }
  std::string_view scheme;
  for (std::string_view s : {"http", "https"}) {
    if (url.starts_with(s) && url.substr(s.size()).starts_with("://")) scheme = s;
  }
  if (scheme.empty()) return bad("must start with http:// or https://");
  std::string_view rest = url.substr(scheme.size() + 3);
  const size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view path = rest.substr(authority_end);
  if (const size_t hash = path.find('#'); hash != std::string_view::npos)
    path = path.substr(0, hash);
  if (authority.find('@') != std::string_view::npos) return bad("carries credentials");

  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("has an unclosed '['");
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) return bad("has something after the IPv6 address");
      port = after.substr(1);
      if (port.empty()) return bad("has an empty port");
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return bad("has an empty port");
  }
  if (host.empty() || host == "[]") return bad("has no host");
  if (!port.empty()) {
    int n = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || n > 65535) return bad("has a bad port");
      n = n * 10 + (c - '0');
    }
    if (n < 1 || n > 65535) return bad("has a port out of range");
  }

  CallbackUrl out;
  out.origin = fmt::format("{}://{}", scheme, authority);
  out.path = fmt::format("{}{}", path.empty() || path.starts_with('?') ? "/" : "", path);
  return out;
}

std::string CallbackJson(const pb::OrderCallback& cb, int32_t utc_offset_minutes) {
  nlohmann::json j = nlohmann::json::object();
  j["change_id"] = std::to_string(cb.change_id());
  j["order_no"] = cb.order_no();
  j["event_id"] = std::to_string(cb.event_id());
  j["status"] = std::string(OrderStatusName(cb.status()));
  j["at"] = FormatIso8601(cb.at_ms(), utc_offset_minutes);
  auto optional = [&j](const char* name, const std::string& value) {
    if (!value.empty()) j[name] = value;
  };
  optional("level", cb.level());
  optional("department", cb.department());
  optional("note", cb.note());
  optional("closure", cb.closure());
  if (cb.merged_into() != 0) j["merged_into"] = std::to_string(cb.merged_into());
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string IdempotencyKey(const pb::OrderCallback& cb) {
  std::string key;
  for (char c : cb.order_no()) {
    if (IsPrintableAscii(c) && c != '%') {
      key.push_back(c);
    } else {
      key += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  key += fmt::format("/{}", cb.change_id());
  return key;
}

CallbackSenderOptions SenderOptionsFor(const pb::GatewayConfig& config,
                                       const pb::GatewayClient& client,
                                       int32_t utc_offset_minutes) {
  CallbackSenderOptions o;
  o.client = client.name();
  o.callback_url = client.callback_url();
  o.utc_offset_minutes = utc_offset_minutes;
  o.timeout = std::chrono::milliseconds(
      config.callback_timeout_ms() == 0 ? 5000 : config.callback_timeout_ms());
  o.max_backoff = std::chrono::milliseconds(
      config.callback_max_backoff_ms() == 0 ? 60000 : config.callback_max_backoff_ms());
  return o;
}

// --- CallbackSender ---

Result<std::unique_ptr<CallbackSender>> CallbackSender::Start(GatewayStore& store,
                                                              CallbackSenderOptions options) {
  if (!IsValidClientName(options.client)) {
    return BadRequest(fmt::format("callback sender: bad client name '{}'", options.client));
  }
  auto url = ParseCallbackUrl(options.callback_url);
  if (!url.ok()) return url.status();
  if (options.timeout <= std::chrono::milliseconds::zero() ||
      options.initial_backoff <= std::chrono::milliseconds::zero() ||
      options.max_backoff <= std::chrono::milliseconds::zero() ||
      options.idle_poll <= std::chrono::milliseconds::zero() || options.batch == 0) {
    return BadRequest(
        fmt::format("callback sender for '{}': timeouts, back-off, poll interval "
                    "and batch must be positive",
                    options.client));
  }
  std::unique_ptr<CallbackSender> sender(
      new CallbackSender(store, std::move(options), std::move(url).value()));
  if (!sender->http_->is_valid()) {
    return BadRequest(fmt::format("callback sender for '{}': cannot call '{}'", sender->client(),
                                  sender->url_.origin));
  }
  sender->thread_ = std::thread([s = sender.get()] { s->Run(); });
  return sender;
}

CallbackSender::CallbackSender(GatewayStore& store, CallbackSenderOptions options, CallbackUrl url)
    : store_(store),
      options_(std::move(options)),
      url_(std::move(url)),
      http_(std::make_unique<httplib::Client>(url_.origin)) {
  http_->set_connection_timeout(options_.timeout);
  http_->set_read_timeout(options_.timeout);
  http_->set_write_timeout(options_.timeout);
}

CallbackSender::~CallbackSender() { Stop(); }

void CallbackSender::Notify() {
  std::lock_guard lock(mu_);
  work_ = true;
  cv_.notify_all();
}

void CallbackSender::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  // Cuts off a request waiting for its answer; the entry stays in the outbox.
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string CallbackSender::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

void CallbackSender::Run() {
  const auto initial = std::min(options_.initial_backoff, options_.max_backoff);
  auto backoff = initial;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    work_ = false;  // anything added from here on is seen by the read below or re-notified
    lock.unlock();

    bool failed = false;
    bool more = false;
    auto pending = store_.Pending(options_.client, options_.batch);
    if (!pending.ok()) {
      failed = true;
      NoteFailure(pending.status());
    } else {
      more = pending->size() == options_.batch;
      for (const pb::OrderCallback& cb : *pending) {
        {
          std::lock_guard stop_check(mu_);
          if (stopping_) break;
        }
        if (Status s = Deliver(cb); !s.ok()) {
          failed = true;
          NoteFailure(s);
          break;
        }
        NoteSuccess();
        backoff = initial;
      }
    }

    lock.lock();
    if (failed) {
      // Notify does not cut a back-off short: new work queues behind the failing head anyway.
      cv_.wait_for(lock, backoff, [this] { return stopping_; });
      backoff = std::min(backoff * 2, options_.max_backoff);
    } else if (!more) {
      cv_.wait_for(lock, options_.idle_poll, [this] { return stopping_ || work_; });
    }
  }
}

Status CallbackSender::Deliver(const pb::OrderCallback& cb) {
  const std::string change_id = std::to_string(cb.change_id());
  httplib::Headers headers = {
      {"X-Whistle-Change-Id", change_id},
      {"Idempotency-Key", IdempotencyKey(cb)},
  };
  auto res = http_->Post(url_.path, headers, CallbackJson(cb, options_.utc_offset_minutes),
                         "application/json");
  if (!res) {
    return Unavailable(fmt::format("POST {}{} (change {} of order {}): {}", url_.origin, url_.path,
                                   change_id, cb.order_no(), httplib::to_string(res.error())));
  }
  if (res->status < 200 || res->status > 299) {
    return Unavailable(fmt::format("POST {}{} (change {} of order {}): answered {}", url_.origin,
                                   url_.path, change_id, cb.order_no(), res->status));
  }
  return store_.Delivered(cb);
}

void CallbackSender::NoteFailure(const Status& status) {
  failed_attempts_.fetch_add(1);
  {
    std::lock_guard lock(mu_);
    last_error_ = status.message();
  }
  if (options_.log && !failing_) {
    std::fprintf(stderr, "whistle-gateway: callbacks to '%s' failing, retrying with back-off: %s\n",
                 options_.client.c_str(), status.message().c_str());
  }
  failing_ = true;
}

void CallbackSender::NoteSuccess() {
  delivered_.fetch_add(1);
  if (options_.log && failing_) {
    std::fprintf(stderr, "whistle-gateway: callbacks to '%s' delivered again\n",
                 options_.client.c_str());
  }
  failing_ = false;
}

}  // namespace whistle::gateway
