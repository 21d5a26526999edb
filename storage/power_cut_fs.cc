#include "storage/power_cut_fs.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "proto/whistle/check.h"
#include "storage/wal_spare_fs.h"

namespace whistle::storage {
namespace {

// A writable file that counts what reaches it and what a sync made durable. Appends hold the
// file system's mutex across the real call, so a power cut sees each one finished or not started.
class PowerCutWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  PowerCutWritableFile(std::unique_ptr<rocksdb::FSWritableFile> file, PowerCutFs& fs,
                       std::shared_ptr<PowerCutFs::FileLengths> lengths, bool wal)
      : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs), mu_(fs.mutex()), lengths_(std::move(lengths)),
        wal_(wal) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    std::lock_guard lock(mu_);
    auto s = FSWritableFileOwnerWrapper::Append(data, options, dbg);
    if (s.ok()) lengths_->written += data.size();
    return s;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    std::lock_guard lock(mu_);
    auto s = FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
    if (s.ok()) lengths_->written += data.size();
    return s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    std::lock_guard lock(mu_);
    auto s = FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, dbg);
    if (s.ok()) lengths_->written = std::max(lengths_->written, offset + data.size());
    return s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& info,
                                     rocksdb::IODebugContext* dbg) override {
    std::lock_guard lock(mu_);
    auto s = FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, info, dbg);
    if (s.ok()) lengths_->written = std::max(lengths_->written, offset + data.size());
    return s;
  }
  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
    std::lock_guard lock(mu_);
    auto s = FSWritableFileOwnerWrapper::Truncate(size, options, dbg);
    if (s.ok()) {
      lengths_->written = size;
      // A shrink is not durable before the next sync either; keeping the larger synced length
      // would resurrect nothing real, so the cut simply cannot grow the file back.
      lengths_->synced = std::min(lengths_->synced, size);
      lengths_->zeros_to = std::min(lengths_->zeros_to, size);
    }
    return s;
  }
  // A sync counts only once it has returned: a cut while it runs (the power went before the
  // fsync finished, so nobody was told it did) keeps the synced length from before. The mutex is
  // not held across the real fsync; after it, the update waits behind a cut in progress forever.
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    uint64_t target = Written();
    auto s = FSWritableFileOwnerWrapper::Sync(options, dbg);
    if (s.ok()) Synced(target);
    return s;
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    uint64_t target = Written();
    auto s = FSWritableFileOwnerWrapper::Fsync(options, dbg);
    if (s.ok()) Synced(target);
    return s;
  }
  // RangeSync (sync_file_range) is passed through but does not count: it promises no durability.

 private:
  uint64_t Written() {
    std::lock_guard lock(mu_);
    return lengths_->written;
  }
  void Synced(uint64_t target) {
    {
      std::lock_guard lock(mu_);
      lengths_->synced = std::max(lengths_->synced, std::min(target, lengths_->written));
    }
    if (wal_) fs_.WalSynced();  // may cut the power here, before the caller learns of the sync
  }

  PowerCutFs& fs_;
  std::mutex& mu_;
  std::shared_ptr<PowerCutFs::FileLengths> lengths_;
  const bool wal_;
};

// Writes zeros over [from, to) of `path`; true when there was nothing to do.
bool ZeroRange(const std::string& path, uint64_t from, uint64_t to) {
  if (from >= to) return true;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const std::string zeros(static_cast<size_t>(to - from), '\0');
  const bool ok = ::pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(from)) ==
                  static_cast<ssize_t>(zeros.size());
  return ::close(fd) == 0 && ok;
}

}  // namespace

PowerCutFs::PowerCutFs(const std::shared_ptr<rocksdb::FileSystem>& base) : FileSystemWrapper(base) {}

rocksdb::IOStatus PowerCutFs::Track(const std::string& f, uint64_t existing_bytes,
                                    std::unique_ptr<rocksdb::FSWritableFile> file,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r) {
  std::lock_guard lock(mu_);
  auto& lengths = files_[f];
  if (!lengths) {
    lengths = std::make_shared<FileLengths>();
    // Bytes already there when the file is (re)opened are taken as durable (see the header).
    lengths->written = lengths->synced = existing_bytes;
  }
  *r = std::make_unique<PowerCutWritableFile>(std::move(file), *this, lengths, IsWriteAheadLog(f));
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus PowerCutFs::NewWritableFile(const std::string& f, const rocksdb::FileOptions& options,
                                              std::unique_ptr<rocksdb::FSWritableFile>* r,
                                              rocksdb::IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  auto s = target()->NewWritableFile(f, options, &file, dbg);
  if (!s.ok()) return s;
  {
    // A new writable file starts empty (O_TRUNC): whatever was tracked under the name is gone.
    std::lock_guard lock(mu_);
    files_.erase(f);
  }
  return Track(f, 0, std::move(file), r);
}

rocksdb::IOStatus PowerCutFs::ReopenWritableFile(const std::string& f,
                                                 const rocksdb::FileOptions& options,
                                                 std::unique_ptr<rocksdb::FSWritableFile>* r,
                                                 rocksdb::IODebugContext* dbg) {
  uint64_t size = 0;
  if (!target()->GetFileSize(f, rocksdb::IOOptions(), &size, dbg).ok()) size = 0;
  std::unique_ptr<rocksdb::FSWritableFile> file;
  auto s = target()->ReopenWritableFile(f, options, &file, dbg);
  if (!s.ok()) return s;
  return Track(f, size, std::move(file), r);
}

rocksdb::IOStatus PowerCutFs::ReuseWritableFile(const std::string& f, const std::string& old_f,
                                                const rocksdb::FileOptions& options,
                                                std::unique_ptr<rocksdb::FSWritableFile>* r,
                                                rocksdb::IODebugContext* dbg) {
  uint64_t size = 0;
  if (!target()->GetFileSize(old_f, rocksdb::IOOptions(), &size, dbg).ok()) size = 0;
  std::unique_ptr<rocksdb::FSWritableFile> file;
  auto s = target()->ReuseWritableFile(f, old_f, options, &file, dbg);
  if (!s.ok()) return s;
  {
    // Renamed, and written from its start again: a file of zeros, whatever was tracked before.
    std::lock_guard lock(mu_);
    files_.erase(old_f);
    auto& lengths = files_[f];
    lengths = std::make_shared<FileLengths>();
    lengths->zeros_to = size;
  }
  return Track(f, 0, std::move(file), r);
}

rocksdb::IOStatus PowerCutFs::RenameFile(const std::string& src, const std::string& dst,
                                         const rocksdb::IOOptions& options,
                                         rocksdb::IODebugContext* dbg) {
  std::lock_guard lock(mu_);
  auto s = target()->RenameFile(src, dst, options, dbg);
  if (s.ok()) {
    auto it = files_.find(src);
    if (it != files_.end()) {
      files_[dst] = std::move(it->second);
      files_.erase(it);
    } else {
      files_.erase(dst);  // replaced by a file this wrapper never wrote: nothing to cut
    }
  }
  return s;
}

rocksdb::IOStatus PowerCutFs::DeleteFile(const std::string& f, const rocksdb::IOOptions& options,
                                         rocksdb::IODebugContext* dbg) {
  std::lock_guard lock(mu_);
  auto s = target()->DeleteFile(f, options, dbg);
  if (s.ok()) files_.erase(f);
  return s;
}

std::optional<PowerCutFs::Lengths> PowerCutFs::LengthsOf(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return std::nullopt;
  return Lengths{it->second->synced, it->second->written};
}

void PowerCutFs::CutAfterWalSyncs(int64_t n) {
  WHISTLE_CHECK(n > 0, "CutAfterWalSyncs(%lld): the count must be positive", static_cast<long long>(n));
  cut_after_wal_syncs_.store(n);
}

void PowerCutFs::WalSynced() {
  // Only the sync that brings the count from 1 to 0 cuts; unarmed (0) it stays 0.
  int64_t left = cut_after_wal_syncs_.load();
  while (left > 0 && !cut_after_wal_syncs_.compare_exchange_weak(left, left - 1)) {
  }
  if (left == 1) PowerCut();
}

void PowerCutFs::PowerCut() {
  mu_.lock();  // held for good: no Append or Sync gets past this point again
  size_t reused = 0;
  for (const auto& [path, lengths] : files_) {
    if (lengths->zeros_to > 0 && IsWriteAheadLog(path)) ++reused;
    if (lengths->synced >= lengths->written) continue;
    // A reused file's bytes below zeros_to were zeros on disk before: they come back.
    if (!ZeroRange(path, lengths->synced, std::min(lengths->written, lengths->zeros_to))) {
      std::perror(("power cut: zeroing " + path).c_str());
    }
    if (lengths->written > lengths->zeros_to &&
        ::truncate(path.c_str(), static_cast<off_t>(std::max(lengths->synced, lengths->zeros_to))) != 0) {
      std::perror(("power cut: truncating " + path).c_str());
    }
  }
  std::fprintf(stderr,
               "whistle: TEST power cut: %zu files cut back to their synced length, %zu of them "
               "write-ahead logs written over a spare\n",
               files_.size(), reused);
  _exit(kPowerCutExitCode);
}

void PowerCutOnSignal(std::shared_ptr<PowerCutFs> fs, int signo) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signo);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([fs = std::move(fs), set] {
    int got = 0;
    while (sigwait(&set, &got) != 0) {
    }
    fs->PowerCut();
  }).detach();
}

}  // namespace whistle::storage
