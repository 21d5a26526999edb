#include "storage/wal_spare_fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "proto/whistle/check.h"

namespace whistle::storage {

bool IsWriteAheadLog(const std::string& path) { return std::string_view(path).ends_with(".log"); }

WalSpareFs::WalSpareFs(const std::shared_ptr<rocksdb::FileSystem>& base, uint64_t spare_bytes)
    : FileSystemWrapper(base), spare_bytes_(spare_bytes) {
  WHISTLE_CHECK(spare_bytes > 0, "a spare log of 0 bytes");
  writer_ = std::thread([this] { WriteSpares(); });
}

WalSpareFs::~WalSpareFs() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  writer_.join();
}

rocksdb::IOStatus WalSpareFs::NewWritableFile(const std::string& f, const rocksdb::FileOptions& options,
                                              std::unique_ptr<rocksdb::FSWritableFile>* r,
                                              rocksdb::IODebugContext* dbg) {
  const size_t slash = f.rfind('/');
  if (!IsWriteAheadLog(f) || slash == std::string::npos) return target()->NewWritableFile(f, options, r, dbg);
  const std::string dir = f.substr(0, slash);
  {
    std::lock_guard lock(mu_);
    if (dir_.empty()) {
      dir_ = dir;
      spare_ = dir + "/" + kSpareName;
      // A spare the last run left is whole: it is renamed to its name only once its zeros are
      // synced. So the first log after a restart is written over zeros too.
      ready_ = target()->FileExists(spare_, rocksdb::IOOptions(), dbg).ok();
    }
    if (dir == dir_) {
      // Under the mutex, so that the thread cannot put the next spare in place before this one
      // has moved.
      rocksdb::IOStatus s = rocksdb::IOStatus::NotFound();
      if (ready_) {
        ready_ = false;
        s = target()->ReuseWritableFile(f, spare_, options, r, dbg);
        if (s.ok()) {
          // The rename must be durable before a record is written into the file: after a power
          // cut the spare's name must never hold a log's records (see the header). Not durable,
          // the file is not written under either name: making the log as usual would open the
          // same file (it has the log's name now) and could leave records under the spare's.
          // The log is not made, so RocksDB's write fails, and the store with it.
          if (rocksdb::IOStatus synced = SyncDirectory(dir, dbg); !synced.ok()) {
            r->reset();
            failed_ = true;  // no more spares: the directory cannot be trusted to keep names
            cv_.notify_all();
            return synced;
          }
          ++logs_over_zeros_;
        } else {
          r->reset();
        }
      }
      if (!failed_) {
        wanted_ = true;
        cv_.notify_all();
      }
      if (s.ok()) return s;
      // No spare, or it could not be taken (removed by hand, say): the log is made as usual.
    }
  }
  return target()->NewWritableFile(f, options, r, dbg);
}

rocksdb::IOStatus WalSpareFs::SyncDirectory(const std::string& dir, rocksdb::IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSDirectory> handle;
  auto s = target()->NewDirectory(dir, rocksdb::IOOptions(), &handle, dbg);
  if (s.ok()) s = handle->Fsync(rocksdb::IOOptions(), dbg);
  return s;
}

uint64_t WalSpareFs::logs_over_zeros() const {
  std::lock_guard lock(mu_);
  return logs_over_zeros_;
}

bool WalSpareFs::WaitForSpare() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return ready_ || failed_ || stop_; });
  return ready_;
}

void WalSpareFs::WriteSpares() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || (wanted_ && !ready_); });
    if (stop_) return;
    wanted_ = false;
    const std::string spare = spare_;
    lock.unlock();
    const std::string tmp = spare + ".tmp";
    bool ok = WriteZeros(tmp);
    if (ok && ::rename(tmp.c_str(), spare.c_str()) != 0) {
      std::fprintf(stderr, "whistle: spare log %s: rename: %s; logs are made as usual\n", spare.c_str(),
                   std::strerror(errno));
      ok = false;
    }
    if (!ok) ::unlink(tmp.c_str());
    lock.lock();
    if (ok) {
      ready_ = true;
    } else if (!stop_) {
      failed_ = true;
    }
    cv_.notify_all();
  }
}

bool WalSpareFs::WriteZeros(const std::string& path) {
  // In chunks, each synced: a burst of the whole spare in the page cache would reach the disk at
  // once, in front of the log's own fsyncs.
  constexpr size_t kChunk = 1 << 20;
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "whistle: spare log %s: open: %s; logs are made as usual\n", path.c_str(),
                 std::strerror(errno));
    return false;
  }
  static const std::string zeros(kChunk, '\0');
  bool ok = true;
  for (uint64_t done = 0; ok && done < spare_bytes_ && !stop_; done += kChunk) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, spare_bytes_ - done));
    ok = ::write(fd, zeros.data(), n) == static_cast<ssize_t>(n) && ::fdatasync(fd) == 0;
  }
  if (!ok) {
    std::fprintf(stderr, "whistle: spare log %s: writing zeros: %s; logs are made as usual\n", path.c_str(),
                 std::strerror(errno));
  }
  ok = ::close(fd) == 0 && ok && !stop_;
  return ok;
}

}  // namespace whistle::storage
