// tools/process.h's files: written whole or not at all, and read back.
#include "tools/process.h"

#include <filesystem>

#include <doctest/doctest.h>

#include "tests/testing/temp_dir.h"

namespace whistle {
namespace {

TEST_CASE("a file is written whole and read back, and replaces what was there") {
  testing::TempDir dir;
  const std::string path = dir.Sub("endpoints");
  REQUIRE(WriteWholeFile(path, "front=tcp://127.0.0.1:1\nbus=tcp://127.0.0.1:2\n").ok());
  std::string front, bus;
  CHECK(ReadEndpoints(path, &front, &bus));
  CHECK(front == "tcp://127.0.0.1:1");
  CHECK(bus == "tcp://127.0.0.1:2");
  REQUIRE(WriteWholeFile(path, "other\n").ok());
  CHECK(ReadWholeFile(path) == "other\n");
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_CASE("a file in a directory that is not there is refused, saying where, and nothing is left") {
  testing::TempDir dir;
  const std::string path = dir.Sub("missing") + "/endpoints";
  Status s = WriteWholeFile(path, "x\n");
  CHECK(s.code() == pb::STATUS_UNAVAILABLE);
  CHECK(s.message().find(dir.Sub("missing")) != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.Sub("missing")));
}

}  // namespace
}  // namespace whistle
