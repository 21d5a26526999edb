// What an authenticating dispatcher needs before it serves, made on its first start:
//
//   <keys_dir>/server.key  the dispatcher's own CURVE key pair
//   <keys_dir>/admin.key   the first admin's key file (with the server's public key), registered
//                          as principal "admin" whenever no admin is active
// Both are mode 0600 in a mode 0700 directory. An operator copies admin.key to where whistlectl
// runs, creates the other principals with it (whistlectl principal-create) and may then move it
// off the machine.
#pragma once

#include <string>

#include "dispatcher/engine.h"
#include "whistle/curve_keys.h"
#include "whistle/status.h"

namespace whistle {

// Reads <keys_dir>/server.key, creating the directory and the key when missing.
Result<pb::KeyFile> LoadOrCreateServerKey(const std::string& keys_dir);

// When the engine has no active admin, registers principal "admin" (acting as ROLE_SYSTEM) with
// the key in <keys_dir>/admin.key, making that file first when missing. Sets *created.
Status EnsureAdmin(Engine& engine, const std::string& keys_dir, const pb::KeyFile& server_key,
                   bool* created);

}  // namespace whistle
