#include "agents/principals.h"

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

namespace whistle {

Result<pb::Request> WithNewKeyFile(pb::Request request, const std::string& server_public_key,
                                   const std::string& key_path) {
  pb::Principal* p = request.mutable_create_principal()->mutable_principal();
  pb::KeyFile key = NewKeyPair(p->name());
  key.set_server_public_key(server_public_key);
  if (Status s = WriteKeyFile(key_path, key); !s.ok()) return s;
  p->set_public_key(*DecodeZ85Key(key.public_key()));
  if (request.request_id().empty()) request.set_request_id(Client::NewRequestId());
  return request;
}

Result<pb::Response> SendPrincipalCreate(Client& admin, const pb::Request& request, const std::string& key_path) {
  auto answer = admin.Call(request);
  // The file is this run's (WriteKeyFile never replaces one). It goes when the principal surely
  // was not made; with the outcome unknown (no answer, or UNAVAILABLE: a failed write that its
  // restart may find) it stays, for a repeat with its public key.
  if (OutcomeOf(answer) == CallOutcome::kRefused) std::remove(key_path.c_str());
  return answer;
}

Result<pb::Response> CreatePrincipalWithKeyFile(Client& admin, const std::string& server_public_key,
                                                pb::Request request, const std::string& key_path) {
  auto prepared = WithNewKeyFile(std::move(request), server_public_key, key_path);
  if (!prepared.ok()) return prepared.status();
  return SendPrincipalCreate(admin, *prepared, key_path);
}

Result<pb::KeyFile> EnsurePrincipal(Client& admin, const std::string& server_public_key,
                                    pb::Principal principal, const std::string& key_path) {
  pb::Request list;
  list.mutable_list_principals();
  auto known = admin.Call(list);
  if (!known.ok()) return known.status();
  if (known->code() != pb::STATUS_OK) return Status(known->code(), known->message());
  for (const pb::Principal& p : known->principals().principals()) {
    if (p.name() != principal.name()) continue;
    auto key = ReadKeyFile(key_path);
    if (!key.ok()) return key.status();
    if (p.revoked_at_ms() != 0 || *DecodeZ85Key(key->public_key()) != p.public_key()) {
      return Internal(fmt::format("principal '{}' exists with another key (or revoked); {} does "
                                  "not belong to it", p.name(), key_path));
    }
    return key;
  }
  pb::Request create;
  *create.mutable_create_principal()->mutable_principal() = std::move(principal);
  auto answer = CreatePrincipalWithKeyFile(admin, server_public_key, create, key_path);
  if (!answer.ok()) return answer.status();
  if (answer->code() != pb::STATUS_OK) return Status(answer->code(), answer->message());
  return ReadKeyFile(key_path);
}

}  // namespace whistle
