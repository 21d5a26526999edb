#include "dispatcher/registry.h"

namespace whistle {

Registry::Registry(bool test_claim_without_state_check) : claim_(test_claim_without_state_check) {}

const CommandProcessor* Registry::command(pb::Request::CommandCase c) const {
  switch (c) {
    case pb::Request::kSubmit: return &submit_;
    case pb::Request::kClaim: return &claim_;
    case pb::Request::kRelease: return &release_;
    case pb::Request::kProgress: return &progress_;
    case pb::Request::kResolve: return &resolve_;
    case pb::Request::kReturnTask: return &return_;
    case pb::Request::kWhistle: return &whistle_;
    case pb::Request::kSupervise: return &supervise_;
    case pb::Request::kFeedback: return &feedback_;
    case pb::Request::kReopen: return &reopen_;
    case pb::Request::kMerge: return &merge_;
    case pb::Request::kCancel: return &cancel_;
    case pb::Request::kSetMode: return &set_mode_;
    case pb::Request::kCreatePrincipal: return &create_principal_;
    case pb::Request::kRevokePrincipal: return &revoke_principal_;
    default: return nullptr;
  }
}

const QueryProcessor* Registry::query(pb::Request::CommandCase c) const {
  switch (c) {
    case pb::Request::kGet: return &get_;
    case pb::Request::kList: return &list_;
    case pb::Request::kStats: return &stats_;
    case pb::Request::kLog: return &log_;
    case pb::Request::kCheckpoint: return &checkpoint_;
    case pb::Request::kDigest: return &digest_;
    case pb::Request::kListPrincipals: return &list_principals_;
    case pb::Request::kWhoami: return &whoami_;
    case pb::Request::kBoard: return &board_;
    case pb::Request::kRanks: return &ranks_;
    default: return nullptr;
  }
}

}  // namespace whistle
