#include "storage/batch_writer.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "whistle/check.h"

namespace whistle::storage {

namespace {

int MakeEventFd() {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  return fd;
}

}  // namespace

BatchWriter::BatchWriter(Store& store)
    : store_(store), ready_fd_(MakeEventFd()), thread_([this] { Loop(); }) {
  // Named, so that top -H and /proc/PID/task/*/comm tell it from the engine thread. The name is
  // only a label: a failure to set it changes nothing else.
  (void)pthread_setname_np(thread_.native_handle(), kThreadName);
  // Cannot fail for a thread that was just started (and a throw here would leave it joinable).
  const int err = pthread_getcpuclockid(thread_.native_handle(), &cpu_clock_);
  WHISTLE_CHECK(err == 0, "pthread_getcpuclockid: %s", std::strerror(err));
}

BatchWriter::~BatchWriter() {
  if (started_) (void)Wait();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  close(ready_fd_);
}

void BatchWriter::Start(WriteBatch* batch) {
  WHISTLE_CHECK(!started_ && batch != nullptr, "BatchWriter::Start while busy, or of nothing");
  started_ = true;
  {
    std::lock_guard lock(mu_);
    pending_ = batch;
    done_ = false;
  }
  cv_.notify_all();
}

Status BatchWriter::Wait() {
  WHISTLE_CHECK(started_, "BatchWriter::Wait with no write started");
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return done_; });
  started_ = false;
  done_ = false;
  uint64_t signals;
  // There is one: the writer signals before it lets go of the lock.
  (void)!read(ready_fd_, &signals, sizeof(signals));
  return std::move(result_);
}

bool BatchWriter::done() {
  if (!started_) return false;
  std::lock_guard lock(mu_);
  return done_;
}

void BatchWriter::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || pending_ != nullptr; });
    if (pending_ == nullptr) return;  // stopping, nothing left to write
    WriteBatch* batch = std::exchange(pending_, nullptr);
    lock.unlock();
    Status s = store_.Write(*batch);
    lock.lock();
    result_ = std::move(s);
    done_ = true;
    cv_.notify_all();
    const uint64_t one = 1;
    // Cannot fail: the counter is drained by every Wait, far below its limit.
    (void)!write(ready_fd_, &one, sizeof(one));
  }
}

}  // namespace whistle::storage
