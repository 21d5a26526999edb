// Shared pieces of the libFuzzer targets (README.md): a scratch directory for RocksDB, the one
// check every answer must pass, and the engine world the targets build on.
//
// A broken property aborts (WHISTLE_CHECK): libFuzzer reports the abort as a crash and saves the
// input. Everything here runs on the fuzzer's one thread.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "dispatcher/city.h"
#include "dispatcher/clock.h"
#include "dispatcher/engine.h"
#include "storage/store.h"
#include "tests/testing/temp_dir.h"
#include "whistle/wire.pb.h"

namespace whistle::fuzz {

// Scratch stores: under $TMPDIR, else /dev/shm (RAM), else /tmp; removed on scope exit.
class ScratchDir : public testing::TempDir {
 public:
  ScratchDir() : TempDir(Place::kPreferRam, "whistle-fuzz") {}
};

// Every answer: a StatusCode of the closed set, a non-empty message when it is not OK, and the
// request's correlation id echoed. Aborts otherwise; `what` names the request in the report.
void CheckResponse(const pb::Response& response, const pb::Request& request, const char* what);

// The test city (tests/testing/test_city.h), built once per process.
std::shared_ptr<const City> TestCity();

// A real engine on a real RocksDB in its own scratch directory, with a manual clock that starts
// at testing::kStartMs. Small store options: the fuzzers open many stores.
class EngineWorld {
 public:
  EngineWorld();
  ~EngineWorld();

  // Starts over on the same store: closes the engine, deletes every key of every column family
  // (and checks that none is left), resets the store's expiry horizon, and opens a new engine with
  // a new clock. For the engine, the
  // same as a fresh store; much cheaper under ASan than opening one (fuzz_engine.cc says why).
  void Reset();

  ManualClock& clock() { return *clock_; }
  Engine& engine() { return *engine_; }
  storage::Store& store() { return *store_; }
  const ScratchDir& dir() const { return *dir_; }

 private:
  void OpenEngine();

  std::unique_ptr<ScratchDir> dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<ManualClock> clock_;
  std::unique_ptr<Engine> engine_;
};

// The process's shared world, opened on first use and closed at exit, which removes its scratch
// directory (not after a crash: a crash leaves the directory behind).
EngineWorld& SharedWorld();
// Closes the shared world now; the next SharedWorld() opens a fresh one.
void DropSharedWorld();

// Drops protobuf's log lines below FATAL ("invalid UTF-8 in a string field" for every third input
// would drown libFuzzer's output); fatal ones are still printed. Call from LLVMFuzzerInitialize.
void QuietProtobufLogs();

// testing::DumpAll asserts with doctest; outside a doctest run, a failed assertion must abort
// (a crash libFuzzer reports) instead of dereferencing doctest's missing context. Idempotent.
void InstallDoctestOutsideTests();

}  // namespace whistle::fuzz
