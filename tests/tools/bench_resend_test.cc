// whistle-bench's clients against a scripted front door on real ZeroMQ sockets: a dispatcher that
// drops answers (as the real one does to a client with 1,000 unread, dispatcher/server.h) must
// not leave requests unanswered, because the bench sends a request again after its timeout, as
// the client library does. The real dispatcher cannot be made to drop on cue; this peer can.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "dispatcher/city.h"
#include "tests/testing/test_city.h"
#include "tools/bench.h"

namespace whistle {
namespace {

// A ROUTER that answers Metrics, and answers each Submit only when its request id comes a second
// time. kDrop: the first copy is dropped without a word. kBusyFirst: the second copy is answered
// BUSY at once and then the first copy OK, as a dispatcher does that sheds a resent submit
// while the first copy is still in its queue. kAlwaysBusy: every copy is answered BUSY at once.
class ForgetfulFrontDoor {
 public:
  enum Mode { kDrop, kBusyFirst, kAlwaysBusy };
  ForgetfulFrontDoor(zmq::context_t& context, Mode mode)
      : mode_(mode), socket_(context, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    // Never drop an answer: a ROUTER drops silently once 1,000 wait for a peer, and a bench thread
    // descheduled while tens of thousands of its requests are answered would lose some.
    socket_.set(zmq::sockopt::sndhwm, 0);
    socket_.bind("tcp://127.0.0.1:*");
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ForgetfulFrontDoor() {
    stop_ = true;
    thread_.join();
  }
  const std::string& endpoint() const { return endpoint_; }
  uint64_t dropped() const { return dropped_; }
  uint64_t unexpected() const { return unexpected_; }
  uint64_t submits() const { return submits_; }                    // every copy
  uint64_t distinct_submits() const { return distinct_submits_; }  // by request id
  std::chrono::steady_clock::time_point last_submit_at() const {
    return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(last_submit_at_.load()));
  }

 private:
  void Serve() {
    uint64_t next_id = 1;
    while (!stop_) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(20));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t peer, body;
      (void)socket_.recv(peer, zmq::recv_flags::none);
      (void)socket_.recv(body, zmq::recv_flags::none);
      pb::Request request;
      if (!request.ParseFromArray(body.data(), static_cast<int>(body.size())) ||
          !(request.has_metrics() || request.has_submit())) {
        ++unexpected_;
        continue;
      }
      pb::Response response;
      response.set_correlation_id(request.correlation_id());
      response.set_code(pb::STATUS_OK);
      if (request.has_metrics()) {
        response.mutable_metrics();
      } else {
        const int copy = ++copies_[request.request_id()];
        if (copy == 1) ++distinct_submits_;
        ++submits_;
        last_submit_at_ = std::chrono::steady_clock::now().time_since_epoch().count();
        if (mode_ == kAlwaysBusy) {
          response.set_code(pb::STATUS_BUSY);
          Send(peer, response);
          continue;
        }
        if (copy == 1) {
          ++dropped_;
          continue;
        }
        auto [it, added] = ids_.try_emplace(request.request_id(), next_id);
        if (added) ++next_id;
        response.mutable_event()->mutable_event()->set_id(it->second);
        if (mode_ == kBusyFirst && copy == 2) {
          pb::Response busy;
          busy.set_correlation_id(request.correlation_id());
          busy.set_code(pb::STATUS_BUSY);
          Send(peer, busy);
        }
      }
      Send(peer, response);
    }
  }

  void Send(const zmq::message_t& peer, const pb::Response& response) {
    std::string bytes = response.SerializeAsString();
    socket_.send(zmq::buffer(peer.data(), peer.size()), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(bytes), zmq::send_flags::none);
  }

  const Mode mode_;
  zmq::socket_t socket_;
  std::string endpoint_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> unexpected_{0};  // frames that were not a Metrics or a Submit request
  std::map<std::string, int> copies_;     // by request id
  // Read by the test while Serve runs.
  std::atomic<uint64_t> submits_{0};
  std::atomic<uint64_t> distinct_submits_{0};
  std::atomic<std::chrono::steady_clock::rep> last_submit_at_{0};  // since the clock's epoch
  std::map<std::string, uint64_t> ids_;  // the event each request id made
};

// Closed-loop submits for 2 s, 4 in flight per client, resent after 300 ms without an answer.
BenchOptions Submits(const ForgetfulFrontDoor& front, int clients) {
  BenchOptions o;
  o.front = front.endpoint();
  o.city = *City::Build(testing::TestCityConfig());
  o.mix = BenchMix::kSubmit;
  o.clients = clients;
  o.window = 4;
  o.duration_s = 2;
  o.warmup_s = 0;
  o.resend_after_ms = 300;
  return o;
}

TEST_CASE("bench: a request whose answer never came is sent again after the timeout, and answered") {
  zmq::context_t context;
  ForgetfulFrontDoor front(context, ForgetfulFrontDoor::kDrop);
  BenchOptions o = Submits(front, 2);
  auto r = RunBench(o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(front.unexpected() == 0);
  CHECK(r->unanswered == 0);  // with resend_after_ms = -1 all 8 of the first window stay unanswered
  CHECK(r->commands > 0);
  CHECK(front.dropped() > 0);
  // Every submit was dropped once and answered the second time: at least one resend each (more
  // only if a machine too busy took 300 ms to answer the second copy; each extra copy answered late).
  CHECK(r->resent >= front.dropped());
  CHECK(r->late_answers + front.dropped() <= r->resent);
  // Measured from the first send, so the wait for the timeout is in every latency.
  CHECK(r->all_latency_us.min() >= 300'000);
}

TEST_CASE("bench: an OK that comes after a BUSY for a later copy of the same request is its answer") {
  // The resent copy is shed (BUSY) while the first copy, still queued, is then stored and answered
  // OK: that submit is acknowledged, and not sent a third time after the BUSY pause.
  zmq::context_t context;
  ForgetfulFrontDoor front(context, ForgetfulFrontDoor::kBusyFirst);
  BenchOptions o = Submits(front, 1);
  o.busy_pause_ms = 5000;  // a retry after the BUSY would come only after the run's end
  // A bench thread kept off the core for longer than this after the second copy went out would
  // send a third, and count the answers already waiting for it as late: a loaded machine's flake.
  o.resend_after_ms = 1000;
  auto r = RunBench(o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(front.unexpected() == 0);
  REQUIRE(front.dropped() > 0);
  CHECK(r->unanswered == 0);
  CHECK(r->busy_pending == 0);  // none left waiting to be sent again after its BUSY
  CHECK(r->codes["submit STATUS_OK"] == r->acked_submits.size());
  CHECK(r->acked_submits.size() == front.dropped());  // every submit sent was dropped once, then acknowledged
  CHECK(r->late_answers == 0);
}

TEST_CASE("bench: once the load has ended nothing answered BUSY is sent again, and the bench waits only for answers") {
  zmq::context_t context;
  ForgetfulFrontDoor front(context, ForgetfulFrontDoor::kAlwaysBusy);
  BenchOptions o = Submits(front, 2);
  o.duration_s = 0.5;
  o.busy_pause_ms = 1;  // sent again and again while the load lasts
  o.resend_after_ms = -1;
  auto r = RunBench(o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(front.unexpected() == 0);
  CHECK(r->unanswered == 0);
  // Closed loop, 4 flows per client, each stuck on its submit: each ends answered BUSY.
  CHECK(r->busy_pending == 2 * 4);
  CHECK(front.distinct_submits() == 2 * 4);
  CHECK(front.submits() > 2 * 4);  // retried while the load lasted
  // Nothing after the end (the bench used to retry for the whole 10 s drain); a second of slack
  // for a copy sent just before the end to arrive.
  CHECK(front.last_submit_at() < r->load_ended + std::chrono::seconds(1));
}

TEST_CASE("bench: an open loop that falls behind its schedule counts the flows it never sent") {
  zmq::context_t context;
  ForgetfulFrontDoor front(context, ForgetfulFrontDoor::kAlwaysBusy);
  BenchOptions o = Submits(front, 1);
  o.rate = 1'000'000;  // one submit a microsecond: no client thread keeps that up
  o.duration_s = 0.05;
  o.busy_pause_ms = -1;  // a BUSY ends its flow: one request per flow
  o.resend_after_ms = -1;
  auto r = RunBench(o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(r->unanswered == 0);
  CHECK(r->not_sent > 0);
  // Every flow due in the 50 ms was either sent (once: the front door saw its request id) or
  // counted as not sent; the schedule's last slot may round either way.
  const double due = o.rate * o.duration_s;
  const double accounted = static_cast<double>(front.distinct_submits() + r->not_sent);
  CHECK(accounted >= due - 1);
  CHECK(accounted <= due + 1);
  CHECK(front.submits() == front.distinct_submits());
}

}  // namespace
}  // namespace whistle
