// The engine's table of contents: which processor handles which wire command.
#pragma once

#include "dispatcher/processors/processors.h"
#include "whistle/wire.pb.h"

namespace whistle {

class Registry {
 public:
  // TEST ONLY: `test_claim_without_state_check` plants a bug (engine.h, PlantedBug).
  explicit Registry(bool test_claim_without_state_check = false);
  // nullptr when the case is not a command (a query, or nothing).
  const CommandProcessor* command(pb::Request::CommandCase c) const;
  // nullptr when the case is not a query.
  const QueryProcessor* query(pb::Request::CommandCase c) const;
  const DeadlineProcessor& deadlines() const { return deadlines_; }

 private:
  SubmitProcessor submit_;
  ClaimProcessor claim_;
  ReleaseProcessor release_;
  ProgressProcessor progress_;
  ResolveProcessor resolve_;
  ReturnProcessor return_;
  WhistleProcessor whistle_;
  SuperviseProcessor supervise_;
  FeedbackProcessor feedback_;
  ReopenProcessor reopen_;
  MergeProcessor merge_;
  CancelProcessor cancel_;
  SetModeProcessor set_mode_;
  CreatePrincipalProcessor create_principal_;
  RevokePrincipalProcessor revoke_principal_;
  GetProcessor get_;
  ListProcessor list_;
  StatsProcessor stats_;
  LogProcessor log_;
  CheckpointProcessor checkpoint_;
  DigestProcessor digest_;
  ListPrincipalsProcessor list_principals_;
  WhoAmIProcessor whoami_;
  BoardProcessor board_;
  RanksProcessor ranks_;
  DeadlineProcessor deadlines_;
};

}  // namespace whistle
