// BatchWriter: makes Store writes on a thread of its own, one at a time, so that the engine thread
// can decide the next batch while this one is synced (pipelined group commit: dispatcher/engine.h).
//
//   writer.Start(batch.write.get());   // returns at once
//   ... decide the next batch; poll(writer.ready_fd()) to learn when the write is done ...
//   Status s = writer.Wait();          // the write is durable when s is OK
//
// Threading: Start, Wait, done and busy are for one thread (the engine's); the writes happen on
// the writer's own thread.
#pragma once

#include <time.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "storage/store.h"
#include "whistle/status.h"

namespace whistle::storage {

class BatchWriter {
 public:
  // The writer thread's name (/proc/PID/task/TID/comm, top -H).
  static constexpr char kThreadName[] = "whistle-writer";

  explicit BatchWriter(Store& store);
  // Waits for a write in progress, then stops the thread.
  ~BatchWriter();
  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;

  // Starts Store::Write(*batch). REQUIRES: !busy(); `batch` outlives the matching Wait.
  void Start(WriteBatch* batch);
  // Waits for the write Start began and returns its status. REQUIRES: busy().
  Status Wait();
  // A write was started and not yet waited for.
  bool busy() const { return started_; }
  // busy() and the write has returned: Wait will not block.
  bool done();
  // Readable (POLLIN) from when a write returns until Wait: for poll(2) or zmq::poll.
  int ready_fd() const { return ready_fd_; }
  // The writer thread's CPU-time clock (pthread_getcpuclockid), for clock_gettime from any thread
  // while this BatchWriter lives: what its writes cost (ServerMetrics).
  clockid_t cpu_clock() const { return cpu_clock_; }

 private:
  void Loop();

  Store& store_;
  bool started_ = false;  // the caller's thread only
  std::mutex mu_;
  std::condition_variable cv_;
  WriteBatch* pending_ = nullptr;  // guarded by mu_: to write
  bool done_ = false;              // guarded by mu_: pending_'s write returned, with result_
  Status result_;                  // guarded by mu_
  bool stop_ = false;              // guarded by mu_
  int ready_fd_ = -1;              // an eventfd, signalled when a write returns
  std::thread thread_;             // starts after the fields above exist
  clockid_t cpu_clock_;            // thread_'s
};

}  // namespace whistle::storage
