#include "agents/client.h"

#include <sys/random.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "whistle/check.h"

namespace whistle {

Client::Client(zmq::context_t& context, std::string front_endpoint, ClientOptions options)
    : context_(context), endpoint_(std::move(front_endpoint)), options_(options) {}

std::chrono::milliseconds BusyBackoff(std::chrono::milliseconds first, int busy_answers, uint64_t random) {
  constexpr int kMaxDoublings = 5;  // 32 x first
  const int doublings = std::clamp(busy_answers - 1, 0, kMaxDoublings);
  // 52 bits: 0.5 + u stays below 1.5 (53 bits could round up to it).
  const double factor = 0.5 + static_cast<double>(random >> 12) * 0x1.0p-52;  // [0.5, 1.5)
  return std::chrono::milliseconds(
      static_cast<int64_t>(static_cast<double>(first.count() << doublings) * factor));
}

std::string Client::NewRequestId() {
  // The kernel's generator, not the CPU's random instruction (std::random_device's default here):
  // some CPUs' have been known to return a constant while reporting success, and every id would
  // then be the same, each request answered with the first one's stored answer.
  uint64_t words[2];
  size_t got = 0;
  while (got < sizeof words) {
    const ssize_t n = ::getrandom(reinterpret_cast<char*>(words) + got, sizeof words - got, 0);
    if (n < 0 && errno == EINTR) continue;
    WHISTLE_CHECK(n > 0, "getrandom failed: %s", std::strerror(errno));
    got += static_cast<size_t>(n);
  }
  return fmt::format("{:016x}{:016x}", words[0], words[1]);
}

CallOutcome OutcomeOf(const Result<pb::Response>& result) {
  const Status status = StatusOf(result);
  if (status.ok()) return CallOutcome::kDone;
  if (status.code() == pb::STATUS_UNAVAILABLE) return CallOutcome::kUnknown;
  // A call that failed otherwise (BUSY, UNAUTHENTICATED) was refused, as is any other answer.
  return CallOutcome::kRefused;
}

Status StatusOf(const Result<pb::Response>& result) {
  if (!result.ok()) return result.status();
  return result->code() == pb::STATUS_OK ? Status::Ok() : Status(result->code(), result->message());
}

void Client::NewSocket() {
  socket_.emplace(context_, zmq::socket_type::dealer);
  socket_->set(zmq::sockopt::linger, 0);
  ApplyCredentials(*socket_, options_.credentials);
}

Status Client::KeyRefused() const {
  return Unauthenticated(
      fmt::format("{} refused this client's key{}", endpoint_,
                  options_.credentials ? "" : " (it has none: the dispatcher expects CURVE)"));
}

Status Client::Connect(std::chrono::steady_clock::time_point deadline) {
  NewSocket();
  // Waiting for the handshake costs nothing extra (the first request would wait for it anyway)
  // and tells a refused key from a dispatcher that is down. A timeout leaves the socket
  // connecting: the request is queued and the usual timeout applies.
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (ConnectAndAwaitHandshake(context_, *socket_, endpoint_, std::max(wait, std::chrono::milliseconds(0))) ==
      Handshake::kRefused) {
    DropSocket();
    return KeyRefused();
  }
  return Status::Ok();
}

Result<pb::Response> Client::Call(pb::Request request) {
  WHISTLE_CHECK(!posted_, "Client::Call with a request posted");
  if (request.request_id().empty()) request.set_request_id(NewRequestId());
  int busy_answers = 0;
  bool unanswered = false;
  for (int attempt = 0; attempt < options_.attempts; ++attempt) {
    // One attempt's time covers the handshake of a fresh socket too.
    auto deadline = std::chrono::steady_clock::now() + options_.timeout;
    if (!socket_) {
      if (Status s = Connect(deadline); !s.ok()) return s;
    }
    uint64_t correlation = next_correlation_++;
    request.set_correlation_id(correlation);
    std::string bytes = request.SerializeAsString();
    socket_->send(zmq::buffer(bytes), zmq::send_flags::none);
    bool answered = false;
    while (!answered) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      zmq::pollitem_t item{socket_->handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, left);
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t reply;
      (void)socket_->recv(reply, zmq::recv_flags::none);
      pb::Response response;
      if (!response.ParseFromArray(reply.data(), static_cast<int>(reply.size()))) continue;
      if (response.correlation_id() != correlation && response.correlation_id() != 0) continue;  // stale
      if (response.code() == pb::STATUS_BUSY) {
        answered = true;  // try again with the same request id, after a pause (none after the last)
        ++busy_answers;
        if (attempt + 1 < options_.attempts) {
          static thread_local std::mt19937_64 jitter{std::random_device{}()};
          std::this_thread::sleep_for(BusyBackoff(options_.busy_pause, busy_answers, jitter()));
        }
        break;
      }
      return response;
    }
    if (!answered) {
      unanswered = true;
      DropSocket();  // timed out: a fresh socket drops any late answer
    }
  }
  if (!unanswered) {
    return Status(pb::STATUS_BUSY, fmt::format("{} answered BUSY to all {} attempts: it is overloaded and did "
                                               "nothing; try again later", endpoint_, options_.attempts));
  }
  return Unavailable(fmt::format("no answer from {} after {} attempts{}", endpoint_, options_.attempts,
                                 busy_answers > 0 ? fmt::format(" ({} answered BUSY)", busy_answers) : ""));
}

Client::~Client() { DropSocket(); }

void Client::DropSocket() {
  // A moved-from client's socket has no handle; stopping its monitor fails harmlessly.
  if (watch_ && socket_) zmq_socket_monitor(socket_->handle(), nullptr, 0);
  watch_.reset();
  watch_connected_ = false;
  socket_.reset();
}

Status Client::Post(pb::Request request, std::chrono::milliseconds patience) {
  WHISTLE_CHECK(!posted_, "Client::Post with a request posted already");
  if (!watch_) DropSocket();  // a socket of Call's, not watched
  // News from before this request (a drop while nothing was posted) concerns no request of it.
  if (watch_) {
    auto news = ReadWatch();
    if (!news.ok()) return news.status();
  }
  posted_ = Posted{std::move(request), patience, {}, 0, 0};
  SendPosted();
  return Status::Ok();
}

void Client::SendPosted() {
  ++posted_->sendings;
  posted_->deadline = std::chrono::steady_clock::now() + posted_->patience;
  if (!socket_) {
    NewSocket();
    static std::atomic<uint64_t> watches{0};
    const std::string address =
        fmt::format("inproc://whistle-client-watch-{}", watches.fetch_add(1));
    constexpr int kEvents = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                            ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
    if (zmq_socket_monitor(socket_->handle(), address.c_str(), kEvents) != 0) throw zmq::error_t();
    watch_.emplace(context_, zmq::socket_type::pair);
    watch_->set(zmq::sockopt::linger, 0);
    watch_->connect(address);
    socket_->connect(endpoint_);
  }
  posted_->request.set_correlation_id(next_correlation_++);
  socket_->send(zmq::buffer(posted_->request.SerializeAsString()), zmq::send_flags::none);
}

void Client::AwaitPosted(std::chrono::milliseconds timeout) {
  zmq::pollitem_t items[] = {{socket_->handle(), 0, ZMQ_POLLIN, 0},
                             {watch_->handle(), 0, ZMQ_POLLIN, 0}};
  zmq::poll(items, 2, std::max(timeout, std::chrono::milliseconds(0)));
}

Result<bool> Client::ReadWatch() {
  bool lost = false;
  for (zmq::message_t event, where; watch_->recv(event, zmq::recv_flags::dontwait);) {
    if (event.more()) (void)watch_->recv(where, zmq::recv_flags::dontwait);
    uint16_t id = 0;
    if (event.size() >= sizeof id) std::memcpy(&id, event.data(), sizeof id);
    if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
      DropSocket();
      return KeyRefused();
    }
    if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) watch_connected_ = true;
    if (id == ZMQ_EVENT_DISCONNECTED) {
      // Only a connection that carried requests loses them; one dropped in its handshake leaves
      // them queued for the next.
      lost = lost || watch_connected_;
      watch_connected_ = false;
    }
  }
  return lost;
}

Result<std::optional<pb::Response>> Client::Collect() {
  WHISTLE_CHECK(posted_.has_value(), "Client::Collect with nothing posted");
  auto answer = [&]() -> std::optional<pb::Response> {
    for (zmq::message_t reply; socket_->recv(reply, zmq::recv_flags::dontwait);) {
      pb::Response response;
      if (!response.ParseFromArray(reply.data(), static_cast<int>(reply.size()))) continue;
      if (response.correlation_id() != posted_->request.correlation_id() &&
          response.correlation_id() != 0) {
        continue;  // stale: an answer to an earlier sending
      }
      posted_.reset();
      return response;
    }
    return std::nullopt;
  };
  if (auto got = answer()) return got;
  auto lost = ReadWatch();
  if (!lost.ok()) {
    posted_.reset();
    return lost.status();
  }
  if (*lost) {
    // The answer may have come just before its connection dropped.
    if (auto got = answer()) return got;
    DropSocket();
    if (++posted_->lost > kMaxLostSendings) {
      posted_.reset();
      return Unavailable(
          fmt::format("{} dropped the connection {} times", endpoint_, kMaxLostSendings + 1));
    }
    SendPosted();
    --posted_->sendings;  // a drop is not a want of an answer: it counts apart
    return std::optional<pb::Response>();
  }
  if (std::chrono::steady_clock::now() < posted_->deadline) return std::optional<pb::Response>();
  DropSocket();  // a fresh socket drops any late answer
  if (posted_->sendings >= options_.attempts) {
    const int sendings = posted_->sendings;
    posted_.reset();
    return Unavailable(fmt::format("no answer from {} after {} attempts", endpoint_, sendings));
  }
  SendPosted();
  return std::optional<pb::Response>();
}

Subscriber::Subscriber(zmq::context_t& context, std::string bus_endpoint, std::string front_endpoint,
                       uint64_t after_seq, ClientCredentials credentials)
    : Subscriber(context, std::move(bus_endpoint), std::move(front_endpoint), after_seq,
                 ClientOptions{.credentials = std::move(credentials)}) {}

Subscriber::Subscriber(zmq::context_t& context, std::string bus_endpoint,
                       std::string front_endpoint, uint64_t after_seq, ClientOptions front_options,
                       std::optional<RecordMark> after, std::chrono::milliseconds log_poll_interval)
    : sub_(context, zmq::socket_type::sub),
      monitor_(context, zmq::socket_type::pair),
      front_(context, front_endpoint, front_options),
      follow_(context, std::move(front_endpoint), front_options),
      follow_patience_(kLogHoldTime + front_options.timeout),
      bus_endpoint_(std::move(bus_endpoint)),
      log_poll_interval_(std::min(log_poll_interval, kLogPollInterval)),
      last_seq_(after_seq),
      last_mark_(after && after->seq == after_seq && after_seq > 0 ? after : std::nullopt),
      bus_floor_(after_seq) {
  static std::atomic<uint64_t> monitors{0};
  std::string address = fmt::format("inproc://whistle-subscriber-{}", monitors.fetch_add(1));
  if (zmq_socket_monitor(sub_.handle(), address.c_str(),
                         ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0) {
    throw zmq::error_t();
  }
  monitor_.set(zmq::sockopt::linger, 0);
  monitor_.connect(address);
  sub_.set(zmq::sockopt::linger, 0);
  ApplyCredentials(sub_, front_options.credentials);
  sub_.set(zmq::sockopt::subscribe, "all");
  sub_.connect(bus_endpoint_);
}

Status Subscriber::Rewound(std::string what) {
  if (!rewound_because_) {
    rewound_because_ = fmt::format(
        "the dispatcher's log went back: {}. It runs on an older copy of its store (a restored backup?) "
        "and numbers new records again from where that copy ends",
        what);
  }
  return Internal(*rewound_because_);
}

Subscriber::~Subscriber() { zmq_socket_monitor(sub_.handle(), nullptr, 0); }

std::optional<RecordMark> Subscriber::KnownMark() const {
  return ready_.empty() ? last_mark_ : RecordMark::Of(ready_.back().record());
}

pb::Request Subscriber::LogRequest(uint64_t after_seq, uint32_t max_records,
                                   const std::optional<RecordMark>& mark) {
  pb::Request r;
  r.mutable_log()->set_after_seq(after_seq);
  r.mutable_log()->set_max_records(max_records);
  if (mark) {
    r.mutable_log()->set_check_mark(true);
    r.mutable_log()->set_mark_at_ms(mark->at_ms);
    r.mutable_log()->set_mark_event_id(mark->event_id);
  }
  return r;
}

Result<pb::LogResult> Subscriber::CallLog(uint64_t after_seq, uint32_t max_records,
                                          const std::optional<RecordMark>& mark) {
  auto answer = front_.Call(LogRequest(after_seq, max_records, mark));
  if (!answer.ok()) return answer.status();
  if (answer->code() != pb::STATUS_OK) return Status(answer->code(), answer->message());
  return std::move(*answer->mutable_log());
}

Status Subscriber::CheckMark(const RecordMark& mark) {
  auto log = CallLog(mark.seq - 1, 1);
  if (!log.ok()) return log.status();
  if (Status s = CheckPage(*log, mark.seq, std::nullopt); !s.ok()) return s;
  if (log->records_size() == 0 || !(RecordMark::Of(log->records(0)) == mark)) {
    return Rewound(fmt::format("its record {} is not the one seen here", mark.seq));
  }
  return Status::Ok();
}

Result<pb::LogResult> Subscriber::ReadLog(uint64_t from, uint32_t max_records) {
  // Records to take: first, that the one before them is the one this subscriber knows. The same
  // read checks it when records follow (an idle read, which brings none, costs the dispatcher no
  // read of its store); a dispatcher from before check_mark needs a read of its own.
  const std::optional<RecordMark> known = KnownMark();  // record `from`'s
  auto read = CallLog(from, max_records, known);
  if (!read.ok()) return read.status();
  pb::LogResult log = std::move(read).value();
  if (Status s = CheckPage(log, from, known); !s.ok()) return s;
  return log;
}

Status Subscriber::CheckPage(const pb::LogResult& log, uint64_t from,
                             const std::optional<RecordMark>& mark) {
  if (log.last_seq() < from) {
    return Rewound(fmt::format("it ends at seq {}, before seq {} seen here", log.last_seq(), from));
  }
  if (log.mark_differs()) {
    return Rewound(fmt::format("its record {} is not the one seen here", from));
  }
  if (mark && log.records_size() > 0 && !log.mark_checked()) return CheckMark(*mark);
  return Status::Ok();
}

Status Subscriber::CheckReconnection() {
  for (zmq::message_t event, where; monitor_.recv(event, zmq::recv_flags::dontwait);) {
    if (event.more()) (void)monitor_.recv(where, zmq::recv_flags::dontwait);
    uint16_t id = 0;
    if (event.size() >= sizeof id) std::memcpy(&id, event.data(), sizeof id);
    if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
      // The bus is not this principal's (it may not read the whole log): stop asking for it, and
      // follow the log through the front door.
      bus_refused_ = true;
      (void)zmq_disconnect(sub_.handle(), bus_endpoint_.c_str());
    } else {
      check_pending_ = true;  // a handshake succeeded: a (re)connection
    }
  }
  if (!check_pending_) return Status::Ok();
  Status checked = Status::Ok();
  if (auto known = KnownMark()) {
    checked = CheckMark(*known);
  } else if (uint64_t from = last_seq_ + ready_.size(); from > 0) {
    checked = ReadLog(from, 1).status();  // no mark: that the log reaches its number
  }
  if (checked.ok()) check_pending_ = false;
  return checked;
}

Status Subscriber::CatchUp(uint64_t through) {
  more_in_log_ = false;
  uint64_t from = last_seq_ + ready_.size();  // ready_ holds last_seq_+1 .. from
  if (from >= through) return Status::Ok();
  auto log = ReadLog(from);
  if (!log.ok()) return log.status();
  return TakePage(*log, from, through);
}

Status Subscriber::TakePage(const pb::LogResult& log, uint64_t from, uint64_t through) {
  more_in_log_ = false;
  for (const auto& record : log.records()) {
    if (record.seq() != from + 1) return Internal(fmt::format("log skipped from {} to {}", from, record.seq()));
    pb::Notification n;
    *n.mutable_record() = record;  // the log has no state, level or grid after the record
    ready_.push_back(std::move(n));
    ++from;
    ++caught_up_;
    if (from >= through) return Status::Ok();
  }
  // The log holds more than this page: read on at once. (An empty page: nothing is committed past
  // `from` as far as the log knows.)
  more_in_log_ = log.records_size() > 0 && from < log.last_seq();
  return Status::Ok();
}

Status Subscriber::ReadHeld(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (!follow_.posted() && (more_in_log_ || now >= next_log_read_)) {
      next_log_read_ = now + log_poll_interval_;
      follow_from_ = last_seq_;  // ready_ is empty: held reads bring every record here
      follow_mark_ = last_mark_;
      pb::Request r = LogRequest(follow_from_, 0, follow_mark_);
      r.mutable_log()->set_wait_ms(static_cast<uint32_t>(kLogHoldTime.count()));
      if (Status s = follow_.Post(std::move(r), follow_patience_); !s.ok()) return s;
    }
    if (follow_.posted()) {
      auto until = std::min(deadline, follow_.posted_deadline());
      follow_.AwaitPosted(std::chrono::ceil<std::chrono::milliseconds>(until - now));
      auto answer = follow_.Collect();
      if (!answer.ok()) return answer.status();
      if (answer->has_value()) {
        if (Status s = TakeHeld(**answer); !s.ok()) return s;
        if (!ready_.empty()) return Status::Ok();
        continue;  // nothing for it: the next read when due (at once with more_in_log_)
      }
    } else if (now < deadline) {
      // The last read came back less than log_poll_interval_ ago: the next waits for its time.
      std::this_thread::sleep_until(std::min(deadline, next_log_read_));
      continue;
    }
    if (std::chrono::steady_clock::now() >= deadline) return Status::Ok();
  }
}

Status Subscriber::TakeHeld(const pb::Response& answer) {
  // A dispatcher stopping answers the reads it holds so: read again when due.
  if (answer.code() == pb::STATUS_UNAVAILABLE) return Status::Ok();
  if (answer.code() != pb::STATUS_OK) return Status(answer.code(), answer.message());
  if (Status s = CheckPage(answer.log(), follow_from_, follow_mark_); !s.ok()) return s;
  return TakePage(answer.log(), follow_from_, UINT64_MAX);
}

Result<std::optional<pb::Record>> Subscriber::Next(std::chrono::milliseconds timeout) {
  auto next = NextNotification(timeout);
  if (!next.ok()) return next.status();
  if (!next->has_value()) return std::optional<pb::Record>();
  return std::optional<pb::Record>(std::move(*(*next)->mutable_record()));
}

Result<std::optional<pb::Notification>> Subscriber::NextNotification(std::chrono::milliseconds timeout) {
  if (rewound_because_) return Internal(*rewound_because_);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    while (ready_.empty()) {
      if (bus_refused_) {
        // Only the log brings records.
        if (Status s = ReadHeld(deadline); !s.ok()) return s;
        if (ready_.empty()) return std::optional<pb::Notification>();
        break;
      }
      auto now = std::chrono::steady_clock::now();
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
      if (more_in_log_) left = std::chrono::milliseconds(0);  // a backlog to read on: no wait
      zmq::pollitem_t items[] = {{sub_.handle(), 0, ZMQ_POLLIN, 0},
                                 {monitor_.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 2, std::max(left, std::chrono::milliseconds(0)));
      // A reconnection's handshake (or the bus's refusal) is reported before anything it brings can
      // be read.
      if (Status s = CheckReconnection(); !s.ok()) return s;
      if (bus_refused_) continue;  // refused just now: the log instead
      if (!(items[0].revents & ZMQ_POLLIN)) {
        // Only news of the bus's connection, with time left: wait on.
        if ((items[1].revents & ZMQ_POLLIN) && left.count() > 0) continue;
        // Quiet bus: ask the log whether anything was missed (a subscriber that started late, or
        // whose last messages were dropped); at most once a kLogPollInterval, however short the
        // waits asked for.
        now = std::chrono::steady_clock::now();
        if (!more_in_log_ && now < next_log_read_) {
          if (now < deadline) continue;
          return std::optional<pb::Notification>();
        }
        next_log_read_ = now + kLogPollInterval;
        if (Status s = CatchUp(UINT64_MAX); !s.ok()) return s;
        if (ready_.empty()) return std::optional<pb::Notification>();
        break;
      }
      zmq::message_t topic, body;
      (void)sub_.recv(topic, zmq::recv_flags::none);
      if (!topic.more()) continue;
      (void)sub_.recv(body, zmq::recv_flags::none);
      pb::Notification n;
      if (!n.ParseFromArray(body.data(), static_cast<int>(body.size()))) continue;
      uint64_t seq = n.record().seq();
      if (seq <= bus_floor_) {
        return Rewound(fmt::format("the bus brought seq {} after seq {}", seq, bus_floor_));
      }
      bus_floor_ = seq;
      if (seq <= last_seq_) continue;  // already delivered (caught up earlier)
      if (seq > last_seq_ + 1) {
        if (Status s = CatchUp(seq - 1); !s.ok()) return s;
      }
      if (seq == last_seq_ + ready_.size() + 1) ready_.push_back(std::move(n));
    }
    pb::Notification next = std::move(ready_.front());
    ready_.pop_front();
    last_seq_ = next.record().seq();
    last_mark_ = RecordMark::Of(next.record());
    if (next.record().withheld()) {
      ++withheld_;  // not this principal's to read: passed over, never delivered
      // The records in hand are passed over at once; another page of a backlog all withheld is
      // read within the wait only, else at the next call.
      if (ready_.empty() && std::chrono::steady_clock::now() >= deadline) {
        return std::optional<pb::Notification>();
      }
      continue;
    }
    return std::optional<pb::Notification>(std::move(next));
  }
}

}  // namespace whistle
