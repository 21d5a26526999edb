#include "storage/fault_injection.h"

namespace whistle::storage {
namespace {

class FaultyWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyWritableFile(std::unique_ptr<rocksdb::FSWritableFile> file, const FaultInjectionFs& fs)
      : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (fs_.fail_writes()) return Injected();
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (fs_.fail_writes()) return Injected();
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    fs_.WaitWhileStalled();
    if (fs_.fail_syncs()) return Injected();
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    fs_.WaitWhileStalled();
    if (fs_.fail_syncs()) return Injected();
    return FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }

 private:
  static rocksdb::IOStatus Injected() { return rocksdb::IOStatus::IOError("injected I/O failure"); }
  const FaultInjectionFs& fs_;
};

}  // namespace

FaultInjectionFs::FaultInjectionFs(const std::shared_ptr<rocksdb::FileSystem>& base)
    : FileSystemWrapper(base) {}

void FaultInjectionFs::set_stall_syncs(bool stall) {
  {
    std::lock_guard lock(stall_mu_);
    stall_syncs_ = stall;
  }
  stall_cv_.notify_all();
}

int FaultInjectionFs::stalled_syncs() const {
  std::lock_guard lock(stall_mu_);
  return stalled_;
}

void FaultInjectionFs::WaitWhileStalled() const {
  std::unique_lock lock(stall_mu_);
  ++stalled_;
  stall_cv_.wait(lock, [&] { return !stall_syncs_; });
  --stalled_;
}

rocksdb::IOStatus FaultInjectionFs::Faulty(rocksdb::IOStatus s, std::unique_ptr<rocksdb::FSWritableFile> file,
                                           std::unique_ptr<rocksdb::FSWritableFile>* r) {
  if (s.ok()) *r = std::make_unique<FaultyWritableFile>(std::move(file), *this);
  return s;
}

rocksdb::IOStatus FaultInjectionFs::NewWritableFile(const std::string& f,
                                                    const rocksdb::FileOptions& options,
                                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                                    rocksdb::IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  auto s = target()->NewWritableFile(f, options, &file, dbg);
  return Faulty(s, std::move(file), r);
}

rocksdb::IOStatus FaultInjectionFs::ReuseWritableFile(const std::string& f, const std::string& old_f,
                                                      const rocksdb::FileOptions& options,
                                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                                      rocksdb::IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  auto s = target()->ReuseWritableFile(f, old_f, options, &file, dbg);
  return Faulty(s, std::move(file), r);
}

rocksdb::IOStatus FaultInjectionFs::ReopenWritableFile(const std::string& f,
                                                       const rocksdb::FileOptions& options,
                                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                                       rocksdb::IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  auto s = target()->ReopenWritableFile(f, options, &file, dbg);
  return Faulty(s, std::move(file), r);
}

}  // namespace whistle::storage
