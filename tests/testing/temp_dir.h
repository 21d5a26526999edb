// TempDir: a fresh directory under $TMPDIR (or /tmp), removed with everything in it on scope exit.
#pragma once

#include <filesystem>
#include <string>

namespace whistle::testing {

class TempDir {
 public:
  TempDir();
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
