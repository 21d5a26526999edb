#include "agents/principals.h"

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

namespace whistle {

Result<pb::Response> CreatePrincipalWithKeyFile(Client& admin, const std::string& server_public_key,
                                                pb::Request request, const std::string& key_path) {
  pb::Principal* p = request.mutable_create_principal()->mutable_principal();
  pb::KeyFile key = NewKeyPair(p->name());
  key.set_server_public_key(server_public_key);
  if (Status s = WriteKeyFile(key_path, key); !s.ok()) return s;
  p->set_public_key(*DecodeZ85Key(key.public_key()));
  if (request.request_id().empty()) request.set_request_id(Client::NewRequestId());
  auto answer = admin.Call(request);
  if (answer.ok() && answer->code() != pb::STATUS_OK) std::remove(key_path.c_str());
  if (!answer.ok() && answer.status().code() == pb::STATUS_UNAUTHENTICATED) std::remove(key_path.c_str());
  return answer;
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
