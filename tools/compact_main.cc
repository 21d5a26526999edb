// whistle-compact: rewrites a stopped dispatcher's store with this version's table options.
//
//   whistle-compact --data=DIR
//
// Table options (bloom filters, block sizes; storage/store.cc) apply to the files RocksDB writes
// from then on, so an older store gets them only as compactions reach its files, and its oldest
// files may never be reached. This rewrites every file now (Store::CompactAll), dropping the
// idempotency entries expired at the time of the newest record (storage/idempotency.h), as the
// dispatcher's own compactions would. Run it with the
// dispatcher stopped (RocksDB refuses a store that is open elsewhere); it takes about as long as
// writing the store did, and needs its size again in free disk while it runs.
#include <chrono>
#include <iostream>

#include <fmt/format.h>

#include "storage/idempotency.h"
#include "storage/store.h"
#include "tools/flags.h"

namespace {

constexpr char kUsage[] = "usage: whistle-compact --data=DIR\n";

int Usage(std::string_view problem) {
  std::cerr << "whistle-compact: " << problem << "\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = whistle::Flags::Parse(argc, argv);
  if (!flags.ok()) return Usage(flags.status().message());
  const std::string data = flags->TakeString("data");
  if (whistle::Status s = flags->CheckAllTaken(); !s.ok()) return Usage(s.message());
  if (data.empty()) return Usage("--data is required");
  const auto start = std::chrono::steady_clock::now();
  whistle::storage::StoreOptions options;
  options.create_if_missing = false;  // a mistyped path must not "compact" a new empty store
  auto store = whistle::storage::Store::Open(data, options);
  if (!store.ok()) return std::cerr << "whistle-compact: " << store.status().ToString() << "\n", 1;
  auto newest = whistle::storage::NewestRecordMs(**store);
  if (!newest.ok()) return std::cerr << "whistle-compact: " << newest.status().ToString() << "\n", 1;
  (*store)->SetExpiryHorizon(*newest);
  if (whistle::Status s = (*store)->CompactAll(); !s.ok()) {
    return std::cerr << "whistle-compact: " << s.ToString() << "\n", 1;
  }
  std::cout << fmt::format("whistle-compact: {} rewritten in {:.1f} s\n", data,
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
}
