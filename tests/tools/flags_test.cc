#include "tools/flags.h"

#include <doctest/doctest.h>

#include <vector>

namespace whistle {
namespace {

Result<Flags> ParseArgs(std::vector<const char*> args) {
  args.insert(args.begin(), "tool");
  return Flags::Parse(static_cast<int>(args.size()), args.data());
}

TEST_CASE("flags parse values, booleans and defaults") {
  auto flags = ParseArgs({"--data=/tmp/x", "--fresh", "--hours=1.5", "--seed=7"});
  REQUIRE(flags.ok());
  CHECK(flags->TakeString("data") == "/tmp/x");
  CHECK(flags->TakeString("config", "default") == "default");
  CHECK(*flags->TakeBool("fresh"));
  CHECK(*flags->TakeDouble("hours", 24, 0, 100) == doctest::Approx(1.5));
  CHECK(*flags->TakeInt("seed", 1, 0, 100) == 7);
  CHECK(flags->CheckAllTaken().ok());
}

TEST_CASE("a flag nobody takes is reported by name") {
  auto flags = ParseArgs({"--hurs=3"});
  REQUIRE(flags.ok());
  Status s = flags->CheckAllTaken();
  CHECK(s.code() == pb::STATUS_BAD_REQUEST);
  CHECK(s.message() == "unknown flag --hurs");
}

TEST_CASE("malformed arguments, repeats and out-of-range numbers are refused") {
  CHECK_FALSE(ParseArgs({"data=/tmp"}).ok());
  CHECK_FALSE(ParseArgs({"--seed=1", "--seed=2"}).ok());
  auto flags = ParseArgs({"--seed=-1", "--hours=abc", "--fresh=maybe"});
  REQUIRE(flags.ok());
  CHECK(flags->TakeInt("seed", 1, 0, 10).status().message() == "--seed must be a whole number from 0 to 10");
  CHECK_FALSE(flags->TakeDouble("hours", 1, 0, 10).ok());
  CHECK_FALSE(flags->TakeBool("fresh").ok());
}

}  // namespace
}  // namespace whistle
