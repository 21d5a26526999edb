// whistle-compact: rewrites a stopped dispatcher's store with this version's table options.
//
//   whistle-compact --data=DIR [--idempotency-retention-hours=N]
//
// Table options (bloom filters, block sizes; storage/store.cc) apply to the files RocksDB writes
// from then on, so an older store gets them only as compactions reach its files, and its oldest
// files may never be reached. This rewrites every file now (Store::CompactAll), dropping the
// idempotency entries expired at the time of the newest record (storage/idempotency.h), as the
// dispatcher's own compactions would. First it gives the entries written before entries expired
// that are not a Submit's an expiry, N hours (default 168, the dispatcher's) after the newest
// record (ExpireLegacyEntries): from then on the dispatcher drops them as it drops its own. Run it
// with the dispatcher stopped (RocksDB refuses a store that is open elsewhere); it takes about as
// long as writing the store did, and needs its size again in free disk while it runs.
#include <chrono>
#include <iostream>

#include <fmt/format.h>

#include "dispatcher/engine.h"
#include "storage/idempotency.h"
#include "storage/store.h"
#include "tools/flags.h"

namespace {

constexpr char kUsage[] = "usage: whistle-compact --data=DIR [--idempotency-retention-hours=N]\n";

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int Usage(std::string_view problem) {
  std::cerr << "whistle-compact: " << problem << "\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = whistle::Flags::Parse(argc, argv);
  if (!flags.ok()) return Usage(flags.status().message());
  const std::string data = flags->TakeString("data");
  auto retention_hours = flags->TakeInt("idempotency-retention-hours", whistle::kDefaultRetentionHours, 1,
                                        whistle::kMaxRetentionHours);
  if (!retention_hours.ok()) return Usage(retention_hours.status().message());
  if (whistle::Status s = flags->CheckAllTaken(); !s.ok()) return Usage(s.message());
  if (data.empty()) return Usage("--data is required");
  const auto start = std::chrono::steady_clock::now();
  whistle::storage::StoreOptions options;
  options.create_if_missing = false;  // a mistyped path must not "compact" a new empty store
  auto store = whistle::storage::Store::Open(data, options);
  if (!store.ok()) return std::cerr << "whistle-compact: " << store.status().ToString() << "\n", 1;
  auto newest = whistle::storage::NewestRecordMs(**store);
  if (!newest.ok()) return std::cerr << "whistle-compact: " << newest.status().ToString() << "\n", 1;
  auto legacy = whistle::storage::ExpireLegacyEntries(**store, *newest + *retention_hours * 3600 * 1000);
  if (!legacy.ok()) return std::cerr << "whistle-compact: " << legacy.status().ToString() << "\n", 1;
  if (legacy->decided_before) {
    std::cout << "whistle-compact: idempotency entries without expiry all decided before\n";
  } else {
    std::cout << fmt::format(
        "whistle-compact: {} idempotency entries, {} without expiry: {} a Submit's (kept for good), "
        "{} another command's (now expiring {} h after the newest record), {} not told apart (kept); "
        "{:.1f} s\n",
        legacy->entries, legacy->without_expiry, legacy->submits, legacy->given_expiry,
        *retention_hours, legacy->undecided, Seconds(start));
  }
  (*store)->SetExpiryHorizon(*newest);
  if (whistle::Status s = (*store)->CompactAll(); !s.ok()) {
    return std::cerr << "whistle-compact: " << s.ToString() << "\n", 1;
  }
  std::cout << fmt::format("whistle-compact: {} rewritten in {:.1f} s\n", data,
                           Seconds(start));
  return 0;
}
