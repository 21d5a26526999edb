// Making principals from a client: a key pair made on this machine, its key file written, and
// only the public key sent to the dispatcher (CreatePrincipal needs an admin's connection).
#pragma once

#include <string>

#include "agents/client.h"
#include "whistle/curve_keys.h"
#include "whistle/status.h"
#include "whistle/wire.pb.h"

namespace whistle {

// The first half of registering a principal with a fresh key pair: writes its key file, naming
// `server_public_key`, to `key_path`, a new file (one already there is never replaced:
// BAD_REQUEST), and returns `request` (a CreatePrincipal) with the public half filled in and a
// request id. Nothing is sent.
Result<pb::Request> WithNewKeyFile(pb::Request request, const std::string& server_public_key,
                                   const std::string& key_path);
// The second half: sends `request` (WithNewKeyFile's). The key file is removed when the
// dispatcher refuses (BUSY included); kept when the outcome is unknown (no answer, or UNAVAILABLE:
// repeat with the same request id and the key from the file). Returns the dispatcher's answer.
Result<pb::Response> SendPrincipalCreate(Client& admin, const pb::Request& request, const std::string& key_path);
// Both halves.
Result<pb::Response> CreatePrincipalWithKeyFile(Client& admin, const std::string& server_public_key,
                                                pb::Request request, const std::string& key_path);

// For tools that set a city up: the principal's key file, with the principal registered. Reuses
// both when the file exists and the dispatcher knows its key as that principal's; otherwise makes
// them. FAILED when the name exists with another key.
Result<pb::KeyFile> EnsurePrincipal(Client& admin, const std::string& server_public_key,
                                    pb::Principal principal, const std::string& key_path);

}  // namespace whistle
