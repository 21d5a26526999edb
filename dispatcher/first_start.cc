#include "dispatcher/first_start.h"

#include <sys/stat.h>

#include <filesystem>

#include <fmt/format.h>

namespace whistle {
namespace {

constexpr char kAdminName[] = "admin";

Status MakePrivateDirectory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable(fmt::format("cannot create {}: {}", dir, ec.message()));
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  if (ec) return Unavailable(fmt::format("cannot make {} private: {}", dir, ec.message()));
  return Status::Ok();
}

// The key file at `path`, made (a fresh pair named `name`) when missing.
Result<pb::KeyFile> LoadOrCreate(const std::string& path, const std::string& name,
                                 const std::string& server_public_key) {
  if (std::filesystem::exists(path)) return ReadKeyFile(path);
  pb::KeyFile key = NewKeyPair(name);
  if (!server_public_key.empty()) key.set_server_public_key(server_public_key);
  if (Status s = WriteKeyFile(path, key); !s.ok()) return s;
  return key;
}

}  // namespace

Result<pb::KeyFile> LoadOrCreateServerKey(const std::string& keys_dir) {
  if (Status s = MakePrivateDirectory(keys_dir); !s.ok()) return s;
  return LoadOrCreate(keys_dir + "/server.key", "server", "");
}

Status EnsureAdmin(Engine& engine, const std::string& keys_dir, const pb::KeyFile& server_key,
                   bool* created) {
  *created = false;
  for (const auto& [name, p] : engine.state().principals()) {
    if (p.role() == pb::ROLE_ADMIN && p.revoked_at_ms() == 0) return Status::Ok();
  }
  auto key = LoadOrCreate(keys_dir + "/admin.key", kAdminName, server_key.public_key());
  if (!key.ok()) return key.status();
  if (key->server_public_key() != server_key.public_key()) {
    return BadRequest(fmt::format("{}/admin.key was made for another server key", keys_dir));
  }
  Command command;
  command.actor.set_role(pb::ROLE_SYSTEM);
  command.actor.set_principal("whistle-dispatcher");
  pb::Principal* p = command.request.mutable_create_principal()->mutable_principal();
  p->set_name(key->name());
  p->set_role(pb::ROLE_ADMIN);
  p->set_public_key(*DecodeZ85Key(key->public_key()));
  p->set_note("the first admin, made at the dispatcher's first start");
  pb::Response reply = engine.Execute(command);
  if (reply.code() != pb::STATUS_OK) {
    return Status(reply.code(), fmt::format("cannot register the first admin: {}", reply.message()));
  }
  *created = true;
  return Status::Ok();
}

}  // namespace whistle
