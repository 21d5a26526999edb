// TempDir: a fresh directory under $TMPDIR (or /tmp), removed with everything in it on scope exit.
// With kPreferRam and no $TMPDIR, under /dev/shm when it is writable (the fuzzers: syncs cost
// nothing there).
#pragma once

#include <filesystem>
#include <string>

namespace whistle::testing {

class TempDir {
 public:
  enum class Place { kDisk, kPreferRam };
  explicit TempDir(Place place = Place::kDisk, const std::string& prefix = "whistle-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // path() / name, as a string.
  std::string Sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace whistle::testing
