// The C++ client of the dispatcher: requests with timeout and retry, and a subscription that
// never misses a record.
//
// Client::Call sends one pb::Request on a DEALER socket and waits for the response with the same
// correlation id. On timeout it drops the socket (stale answers die with it), reconnects and sends
// the SAME request again: with its request id, a retry is applied at most once (engine.h; for
// a command other than Submit, within the dispatcher's idempotency retention, a week).
// BUSY answers are retried the same way, after a pause that doubles with each BUSY in a row and
// is jittered (BusyBackoff), so that clients shed together do not all come back together and an
// overloaded dispatcher is not kept busy answering BUSY. Not thread-safe: one Client per thread.
// With credentials (a key file) it connects with CURVE; a dispatcher that refuses the key at the
// handshake makes Call return UNAUTHENTICATED at once instead of timing out.
//
// Subscriber delivers records in sequence order, each exactly once. It reads the bus ("all"
// topic); when it sees a gap (or starts after records it has not seen) it reads the missing ones
// from the front door's LogQuery before going on.
// A principal that may not read the whole log (an agent, a supervisor of a region:
// dispatcher/authorization.h, "The log") is refused on the bus. Seeing its handshake refused, the
// Subscriber drops the bus and follows the log instead, through held reads (LogQuery.wait_ms,
// kLogHoldTime): the dispatcher answers one when a record this principal may read is written,
// or when the hold ends, so an idle follower sends one read a hold, and a busy one at most one a
// kLogPollInterval. A read is left outstanding between calls of Next (on a connection of its
// own), and Next waits on it only as long as it was asked to. The log withholds the records of
// events it may not read: they are passed over (last_seq() moves past them, withheld() counts
// them), never delivered.
// A dispatcher's sequence numbers only grow, across restarts and crashes too (a record is
// published only once it is on disk). One started on an older copy of its store (a restored
// backup) numbers new records again from where that copy ends, reusing numbers this subscriber
// has delivered for other records. Subscriber does not take those for records it has seen:
//   - every read of the log checks that the log reaches the last number it knows, and one that
//     brings records checks that the dispatcher still has the last record it knows, by its
//     RecordMark (in the same read: LogQuery.check_mark; a second read from a dispatcher older
//     than that);
//   - after each (re)connection of the bus socket it checks so before taking anything more from
//     the bus (a restarted dispatcher is a reconnection), until a check gets an answer;
//   - the bus bringing a number it has passed there (or, before anything came on the bus, one it
//     was created after) is the same news.
// From then on every call fails (INTERNAL, "the dispatcher's log went back ...") and rewound()
// is true. Created after a number with no mark (a follower that stored only the number), it can
// check only that the log reaches that number until it has delivered a record.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "whistle/curve_keys.h"
#include "whistle/record_mark.h"
#include "whistle/status.h"
#include "whistle/wire.pb.h"

namespace whistle {

// The pause before sending a request again after its `busy_answers`-th BUSY in a row (1, 2, ...):
// `first` doubled each time, at most 32 x `first`, times a factor in [0.5, 1.5) taken from
// `random` (any 64 random bits).
std::chrono::milliseconds BusyBackoff(std::chrono::milliseconds first, int busy_answers, uint64_t random);

// How often a Subscriber reads the log while nothing comes, however short the waits it is asked
// for. Refused on the bus, it reads the log whenever this (or the shorter interval it was made
// with) is due, during a wait too: the delay before it sees a record. On a bus, at the end of a
// wait (to see what the bus dropped), when this long has passed since the last such read.
inline constexpr std::chrono::milliseconds kLogPollInterval{250};
// How long a Subscriber refused on the bus asks the dispatcher to hold its read of the log while
// nothing comes for it (LogQuery.wait_ms). Its patience for the answer is this and its client's
// timeout; unanswered, the read is sent again on a fresh connection, up to the client's attempts,
// and at once when the connection it went on drops (Client::Post).
inline constexpr std::chrono::milliseconds kLogHoldTime{20000};

struct ClientOptions {
  std::chrono::milliseconds timeout{2000};
  int attempts = 5;
  std::chrono::milliseconds busy_pause{100};  // the first pause after BUSY (BusyBackoff)
  ClientCredentials credentials;  // none: a --dev-no-auth dispatcher
};

// What a call's result says of its request: done (answered OK); refused (any other answer, BUSY to
// every attempt, or the key refused at the handshake: nothing was done); or unknown (no answer, or
// UNAVAILABLE: a write that failed and that the dispatcher's restart may yet find; repeat it with
// the same request id).
enum class CallOutcome { kDone, kRefused, kUnknown };
CallOutcome OutcomeOf(const Result<pb::Response>& result);
// The result as a Status: OK, the answer's code and message, or the call's own failure.
Status StatusOf(const Result<pb::Response>& result);

class Client {
 public:
  Client(zmq::context_t& context, std::string front_endpoint, ClientOptions options = {});

  // The dispatcher's answer (whatever its code, BUSY aside), or: BUSY when every attempt was
  // answered BUSY (nothing was done: try later); UNAVAILABLE when an attempt went unanswered
  // (the outcome is unknown: repeat with the same request id). A request without a request id
  // gets a fresh random one, so that retries are safe.
  Result<pb::Response> Call(pb::Request request);

  // Stops a watched socket's monitor before closing it. Movable, not assignable (the context is
  // a reference).
  ~Client();
  Client(Client&&) noexcept = default;

  // One request left outstanding while the caller waits on other things too (a held log read):
  // Post sends it, without waiting for a connection (it waits in the socket until one is made);
  // the caller waits with AwaitPosted and calls Collect, which gives the answer once it has come
  // (BUSY included) and nullopt while it has not. Collect sends the request again on a fresh
  // socket:
  //   - when a connection it may have gone out on drops (a socket monitor watches: a connection
  //     whose handshake had succeeded closes, as when the dispatcher's process is killed or
  //     restarted). A drop before the handshake loses nothing: the request waits in the socket
  //     for the next connection. At most kMaxLostSendings such sendings;
  //   - when `patience` passes with no answer (a host gone silent is noticed only so), up to
  //     options.attempts such sendings in all;
  // and then gives UNAVAILABLE; UNAUTHENTICATED when the dispatcher refuses the key at the
  // handshake. No Call, and no second Post, while a request is posted. Post reads only (a
  // request without a request id is sent again as it is, not made idempotent).
  Status Post(pb::Request request, std::chrono::milliseconds patience);
  bool posted() const { return posted_.has_value(); }
  // REQUIRES: posted(). Waits until the answer or news of the connection comes, or `timeout`
  // passes. When Collect is due at the latest (patience).
  void AwaitPosted(std::chrono::milliseconds timeout);
  std::chrono::steady_clock::time_point posted_deadline() const { return posted_->deadline; }
  Result<std::optional<pb::Response>> Collect();
  // A fresh request id: 128 bits from the kernel (getrandom), in hex. (Not a generator seeded
  // once: std::random_device gives a seed 32 bits, and runs of whistlectl, each its own process,
  // would repeat each other's ids within a few hundred thousand.)
  static std::string NewRequestId();
  const std::string& endpoint() const { return endpoint_; }

 private:
  // A fresh socket, connected (waiting for the handshake until `deadline` at most);
  // UNAUTHENTICATED when the dispatcher refused the key.
  Status Connect(std::chrono::steady_clock::time_point deadline);
  // Sends the posted request (a fresh correlation id; a fresh socket, watched, if there is none).
  void SendPosted();
  // socket_, fresh and unconnected, with the credentials.
  void NewSocket();
  // UNAUTHENTICATED: the dispatcher refused this client's key at the handshake.
  Status KeyRefused() const;
  // Drops the socket, stopping its monitor first (libzmq would block its I/O thread for good
  // sending news to a monitor socket already closed).
  void DropSocket();

  // Reads the news of the watched socket's connection. Returns whether a connection whose
  // handshake succeeded has dropped since the last reading; UNAUTHENTICATED when a handshake was
  // refused.
  Result<bool> ReadWatch();

  static constexpr int kMaxLostSendings = 16;
  struct Posted {
    pb::Request request;
    std::chrono::milliseconds patience;
    std::chrono::steady_clock::time_point deadline;  // of the sending in progress
    int sendings = 0;  // sent again for want of an answer within the patience, the first included
    int lost = 0;      // sent again because its connection dropped
  };

  zmq::context_t& context_;
  std::string endpoint_;
  ClientOptions options_;
  std::optional<zmq::socket_t> socket_;
  // For a posted request: the other end of socket_'s monitor (a lost connection, a refused key).
  std::optional<zmq::socket_t> watch_;
  bool watch_connected_ = false;  // the watched socket's handshake succeeded, not dropped since
  uint64_t next_correlation_ = 1;
  std::optional<Posted> posted_;
};

class Subscriber {
 public:
  // Delivers every record with seq > after_seq. The credentials serve both sockets.
  Subscriber(zmq::context_t& context, std::string bus_endpoint, std::string front_endpoint,
             uint64_t after_seq = 0, ClientCredentials credentials = {});
  // The same, with its front-door client's options (the credentials among them): a daemon that
  // must stop promptly while the dispatcher is away waits less for each catch-up.
  // `after`: the mark of record `after_seq` (last_mark() of an earlier Subscriber), when kept.
  // `log_poll_interval`: how often it reads the log once refused on the bus, at most
  // kLogPollInterval (shorter where time runs faster).
  Subscriber(zmq::context_t& context, std::string bus_endpoint, std::string front_endpoint,
             uint64_t after_seq, ClientOptions front_options, std::optional<RecordMark> after = {},
             std::chrono::milliseconds log_poll_interval = kLogPollInterval);
  // Stops the bus socket's monitor first: libzmq would block its I/O thread for good sending a
  // handshake's news to a monitor socket already closed.
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // The next record in sequence order, or nullopt when none came within `timeout`.
  // UNAVAILABLE when catching up through the front door failed.
  Result<std::optional<pb::Record>> Next(std::chrono::milliseconds timeout);
  // The same, with what the bus says of the record's event after it (state, level, grid,
  // departments). Records read back from the log after a gap carry the record only.
  Result<std::optional<pb::Notification>> NextNotification(std::chrono::milliseconds timeout);
  uint64_t last_seq() const { return last_seq_; }
  // The mark of record last_seq(), once one is known.
  const std::optional<RecordMark>& last_mark() const { return last_mark_; }
  // The dispatcher's log went back behind what this subscriber delivered (above).
  bool rewound() const { return rewound_because_.has_value(); }
  // Records fetched through the front door because the bus did not bring them.
  uint64_t caught_up() const { return caught_up_; }
  // Records passed over because the log withheld them from this principal.
  uint64_t withheld() const { return withheld_; }
  // The bus refused this principal: it follows the log through the front door.
  bool bus_refused() const { return bus_refused_; }

 private:
  // Reads records after last_seq_ up to `through` from the front door into ready_: one page at
  // a time, so that a long backlog (a follower away for a day) is delivered as it is read, never
  // held whole. Sets more_in_log_ when it stopped short of `through` with records left to read.
  Status CatchUp(uint64_t through);
  // Takes a page read after `from` into ready_, up to `through`; sets more_in_log_ as CatchUp.
  Status TakePage(const pb::LogResult& log, uint64_t from, uint64_t through);
  // Refused on the bus: follows the log through held reads on follow_ until records are in ready_
  // or `deadline` passes (the read may be left outstanding). Sends a read when none is
  // outstanding and one is due (log_poll_interval_ after the last; at once with more_in_log_).
  Status ReadHeld(std::chrono::steady_clock::time_point deadline);
  // The answer to a held read sent after follow_from_: checked, and its records taken.
  Status TakeHeld(const pb::Response& answer);
  // A log read's request.
  static pb::Request LogRequest(uint64_t after_seq, uint32_t max_records,
                                const std::optional<RecordMark>& mark);
  // Fails as the header says when `log`, read after `from` (with `mark`, record from's), does
  // not reach `from`, or no longer holds the record the mark names.
  Status CheckPage(const pb::LogResult& log, uint64_t from, const std::optional<RecordMark>& mark);
  // One page of the log after `from` (last_seq_ + ready_.size()), checked as the header says.
  Result<pb::LogResult> ReadLog(uint64_t from, uint32_t max_records = 0);
  // The log after `after_seq` (at most `max_records`, 0 = the default page); with `mark`, record
  // after_seq's (LogQuery.check_mark). Unchecked: see CheckPage.
  Result<pb::LogResult> CallLog(uint64_t after_seq, uint32_t max_records,
                                const std::optional<RecordMark>& mark = std::nullopt);
  // Whether the dispatcher still has the record `mark` names.
  Status CheckMark(const RecordMark& mark);
  // The mark of record last_seq_ + ready_.size(), when known.
  std::optional<RecordMark> KnownMark() const;
  // After a (re)connection of the bus socket (its monitor's news), until a check is answered:
  // checks the log as above before anything more is taken from the bus. A refused handshake
  // instead drops the bus (bus_refused()).
  Status CheckReconnection();
  // Notes (the first time) that the dispatcher's log went back, as `what` shows, and says so.
  Status Rewound(std::string what);

  zmq::socket_t sub_;
  zmq::socket_t monitor_;  // sub_'s handshakes; stopped before either closes (~Subscriber)
  bool check_pending_ = false;
  Client front_;
  Client follow_;  // held reads, refused on the bus: one outstanding at a time
  std::chrono::milliseconds follow_patience_;
  uint64_t follow_from_ = 0;  // the outstanding held read's after_seq, and its mark
  std::optional<RecordMark> follow_mark_;
  std::string bus_endpoint_;
  // A handshake on the bus was refused: the log is read instead, for the Subscriber's life (a
  // refused handshake ends libzmq's attempts to connect; the bus is disconnected to be sure).
  bool bus_refused_ = false;
  std::chrono::milliseconds log_poll_interval_;
  // When a quiet wait may next read the log (kLogPollInterval after the last such read).
  std::chrono::steady_clock::time_point next_log_read_{};
  uint64_t last_seq_;
  std::optional<RecordMark> last_mark_;
  // The highest number that came on the bus, or (before any) the one it was created after: the
  // bus brings each connection's records in order, all of them after what was written when it
  // connected.
  uint64_t bus_floor_;
  std::optional<std::string> rewound_because_;
  uint64_t caught_up_ = 0;
  uint64_t withheld_ = 0;
  bool more_in_log_ = false;  // CatchUp left records to read: the next Next reads on at once
  std::deque<pb::Notification> ready_;
};

}  // namespace whistle
