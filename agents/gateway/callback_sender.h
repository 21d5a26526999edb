// CallbackSender: delivers one hotline client's outbox (GatewayStore) to its callback_url, in
// change_id order, over HTTP POST with retry and back-off.
//
// One sender = one thread = one client. The thread reads the head of the client's outbox, POSTs
// each callback and removes it (GatewayStore::Delivered) once the receiver answers 2xx. Anything
// else (another status, connection refused, a timeout) is a failed attempt: the SAME head entry
// is tried again after a back-off that starts at initial_backoff (100 ms), doubles on every
// failure up to max_backoff, and resets on the next success. Nothing behind the head is sent
// before it, so the receiver sees each order's changes in order. A crash or a lost answer can
// deliver a callback twice, never zero times: receivers drop repeats of (order_no, change_id),
// which is also in the Idempotency-Key header.
//
// Request: POST <path>, Content-Type application/json, headers
//   X-Whistle-Change-Id: <change_id>
//   Idempotency-Key: <order_no>/<change_id>   (order_no bytes outside '!'..'~', and '%', are
//                                              percent-encoded so the header stays one line)
// and a body of CallbackJson (below).
//
// Threading: Notify, Stop and the counters may be called from any thread. Notify after Apply
// added callbacks wakes the sender at once; without it, an idle sender still looks at the outbox
// every idle_poll, so nothing is stranded. Stop (and the destructor) returns promptly: waits are
// on a condition variable and an in-flight request is cut off; at worst one connection attempt
// runs out its timeout.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "agents/gateway/gateway_store.h"
#include "whistle/gateway.pb.h"
#include "whistle/status.h"

namespace httplib {
class Client;
}  // namespace httplib

namespace whistle::gateway {

// A callback URL split for httplib::Client.
struct CallbackUrl {
  std::string origin;  // "http://host:port" ("https://..." also accepted)
  std::string path;    // "/path?query"; "/" when the URL has none
};
// BAD_REQUEST names what is wrong: not http(s), no host, a bad port, credentials, spaces.
Result<CallbackUrl> ParseCallbackUrl(std::string_view url);

// The body: {"change_id": "<seq>", "order_no", "event_id": "<id>", "status": "claimed" | ...,
// "at": ISO 8601 at utc_offset_minutes, "level", "department", "note", "closure",
// "merged_into": "<id>"}; empty fields are left out. Ids are strings (64-bit). Invalid UTF-8 is
// replaced by U+FFFD.
std::string CallbackJson(const pb::OrderCallback& callback, int32_t utc_offset_minutes);
// "<order_no>/<change_id>", percent-encoded as described above.
std::string IdempotencyKey(const pb::OrderCallback& callback);

struct CallbackSenderOptions {
  std::string client;                       // GatewayClient.name: whose outbox
  std::string callback_url;                 // GatewayClient.callback_url
  int32_t utc_offset_minutes = 0;           // the city's, for "at"
  std::chrono::milliseconds timeout{5000};  // connect, and each read or write of one attempt
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{60000};
  std::chrono::milliseconds idle_poll{1000};  // look at an idle outbox at least this often
  size_t batch = 64;                          // callbacks read from the outbox at a time
  bool log = true;  // one line on stderr when deliveries start failing and when they recover
};

// Options for `client` from the gateway's configuration: 0 in callback_timeout_ms and
// callback_max_backoff_ms means 5000 and 60000 (gateway.proto).
CallbackSenderOptions SenderOptionsFor(const pb::GatewayConfig& config,
                                       const pb::GatewayClient& client, int32_t utc_offset_minutes);

class CallbackSender {
 public:
  // Checks the options (client name, URL) and starts the thread. `store` must outlive the
  // sender.
  static Result<std::unique_ptr<CallbackSender>> Start(GatewayStore& store,
                                                       CallbackSenderOptions options);
  ~CallbackSender();  // Stop()
  CallbackSender(const CallbackSender&) = delete;
  CallbackSender& operator=(const CallbackSender&) = delete;

  // There may be new callbacks in the outbox.
  void Notify();
  // Stops and joins the thread. Undelivered callbacks stay in the outbox for the next start.
  // Idempotent.
  void Stop();

  const std::string& client() const { return options_.client; }
  // Callbacks answered 2xx and removed from the outbox.
  uint64_t delivered() const { return delivered_.load(); }
  // Attempts that failed (including failing to read or update the outbox).
  uint64_t failed_attempts() const { return failed_attempts_.load(); }
  // Why the last failed attempt failed; "" before any.
  std::string last_error() const;

 private:
  CallbackSender(GatewayStore& store, CallbackSenderOptions options, CallbackUrl url);
  void Run();
  // One attempt: POST, then Delivered on 2xx.
  Status Deliver(const pb::OrderCallback& callback);
  void NoteFailure(const Status& status);
  void NoteSuccess();

  GatewayStore& store_;
  const CallbackSenderOptions options_;
  const CallbackUrl url_;
  std::unique_ptr<httplib::Client> http_;  // used by the thread; Stop() may cut it off

  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> failed_attempts_{0};
  bool failing_ = false;  // thread only: for logging transitions

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;   // guarded by mu_
  bool work_ = false;       // guarded by mu_: Notify since the last look at the outbox
  std::string last_error_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace whistle::gateway
