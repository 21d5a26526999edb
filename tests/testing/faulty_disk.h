// FaultyDisk: a store directory on a file system that fails on demand (storage/fault_injection.h),
// the test city and a manual clock: for tests of what a failed write does.
#pragma once

#include <memory>

#include <rocksdb/env.h>

#include "dispatcher/city.h"
#include "dispatcher/clock.h"
#include "dispatcher/engine.h"
#include "storage/fault_injection.h"
#include "storage/store.h"
#include "tests/testing/engine_fixture.h"
#include "tests/testing/temp_dir.h"

namespace whistle::testing {

struct FaultyDisk {
  TempDir dir;
  std::shared_ptr<storage::FaultInjectionFs> fs =
      std::make_shared<storage::FaultInjectionFs>(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  std::shared_ptr<const City> city = City::Build(TestCityConfig()).value();
  ManualClock clock{kStartMs};
};

// A store at dir/db on the faulty file system, and an engine on it.
struct FaultyEngine : FaultyDisk {
  explicit FaultyEngine(EngineOptions options = {})
      : store(storage::Store::Open(dir.Sub("db"), {.env = env.get()}).value()),
        engine(Engine::Open(*store, city, clock, options).value()) {}
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<Engine> engine;
};

}  // namespace whistle::testing
