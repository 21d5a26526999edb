#include "tests/fuzz/fuzz_support.h"

#include <google/protobuf/stubs/logging.h>  // SetLogHandler

#include <cstdio>

#include "tests/testing/engine_fixture.h"
#include "tests/testing/test_city.h"
#include "whistle/check.h"

namespace whistle::fuzz {

void QuietProtobufLogs() {
  google::protobuf::SetLogHandler(
      [](google::protobuf::LogLevel level, const char* file, int line, const std::string& message) {
        if (level == google::protobuf::LOGLEVEL_FATAL) {
          std::fprintf(stderr, "[libprotobuf FATAL %s:%d] %s\n", file, line, message.c_str());
        }
      });
}

void CheckResponse(const pb::Response& response, const pb::Request& request, const char* what) {
  WHISTLE_CHECK(pb::StatusCode_IsValid(response.code()),
                "%s: answer has status code %d, not a StatusCode", what,
                static_cast<int>(response.code()));
  WHISTLE_CHECK(response.code() == pb::STATUS_OK || !response.message().empty(),
                "%s: %s answer without a message", what,
                pb::StatusCode_Name(response.code()).c_str());
  WHISTLE_CHECK(response.correlation_id() == request.correlation_id(),
                "%s: answer carries correlation id %llu, the request %llu", what,
                static_cast<unsigned long long>(response.correlation_id()),
                static_cast<unsigned long long>(request.correlation_id()));
}

std::shared_ptr<const City> TestCity() {
  static const std::shared_ptr<const City> city = [] {
    auto built = City::Build(testing::TestCityConfig());
    WHISTLE_CHECK(built.ok(), "the test city does not build: %s",
                  built.status().ToString().c_str());
    return std::move(built).value();
  }();
  return city;
}

EngineWorld::EngineWorld() : dir_(std::make_unique<ScratchDir>()) {
  storage::StoreOptions options;
  options.block_cache_bytes = 1 << 20;  // the default 64 MiB is for a city, not a fuzz input
  auto store = storage::Store::Open(dir_->Sub("db"), options);
  WHISTLE_CHECK(store.ok(), "cannot open the store: %s", store.status().ToString().c_str());
  store_ = std::move(store).value();
  OpenEngine();
}

EngineWorld::~EngineWorld() {
  engine_.reset();  // before the store it writes to, and both before the directory goes
  store_.reset();
}

void EngineWorld::OpenEngine() {
  clock_ = std::make_unique<ManualClock>(testing::kStartMs);
  auto engine = Engine::Open(*store_, TestCity(), *clock_);
  WHISTLE_CHECK(engine.ok(), "cannot open the engine: %s", engine.status().ToString().c_str());
  engine_ = std::move(engine).value();
}

void EngineWorld::Reset() {
  engine_.reset();
  storage::WriteBatch batch(*store_);
  for (int i = 0; i < storage::kCfCount; ++i) {
    auto cf = static_cast<storage::Cf>(i);
    auto cursor = store_->NewCursor(cf);
    for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) batch.Delete(cf, cursor->key());
    WHISTLE_CHECK(cursor->status().ok(), "emptying the store: %s",
                  cursor->status().ToString().c_str());
  }
  Status written = store_->Write(batch);
  WHISTLE_CHECK(written.ok(), "emptying the store: %s", written.ToString().c_str());
  for (int i = 0; i < storage::kCfCount; ++i) {
    auto cursor = store_->NewCursor(static_cast<storage::Cf>(i));
    cursor->SeekToFirst();
    WHISTLE_CHECK(!cursor->Valid(), "column family %s is not empty after Reset",
                  std::string(storage::CfName(static_cast<storage::Cf>(i))).c_str());
  }
  // The new engine's clock starts over at kStartMs, maybe weeks before the last input's time: a
  // horizon left there would let compactions drop entries that engine still takes for alive.
  store_->ResetExpiryHorizonForTest();
  OpenEngine();
}

namespace {

std::unique_ptr<EngineWorld>& SharedWorldSlot() {
  static auto* slot = new std::unique_ptr<EngineWorld>();  // never destroyed: see SharedWorld
  return *slot;
}

}  // namespace

EngineWorld& SharedWorld() {
  std::unique_ptr<EngineWorld>& slot = SharedWorldSlot();
  if (slot == nullptr) {
    slot = std::make_unique<EngineWorld>();
    // Registered once a store is open, so it runs before RocksDB's own statics (Env::Default)
    // are destroyed: a static EngineWorld would be destroyed after them and crash in DB::Close.
    static const bool registered = std::atexit(DropSharedWorld) == 0;
    (void)registered;
  }
  return *slot;
}

void DropSharedWorld() { SharedWorldSlot().reset(); }

}  // namespace whistle::fuzz
