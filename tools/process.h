// Child processes for the orchestrating tools and the integration tests.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "whistle/status.h"

namespace whistle {

// Starts `args` (args[0] the binary's path) with stdout (and stderr, when `merge_stderr`)
// written to `stdout_path` ("" keeps the parent's), and no signal blocked, whatever the caller
// blocks; in a process group of its own with `own_process_group` (a terminal's Ctrl-C then
// reaches only the caller, which stops it in its turn). Returns the pid; throws on fork failure.
pid_t Spawn(const std::vector<std::string>& args, const std::string& stdout_path,
            bool merge_stderr = false, bool own_process_group = false);
// Waits for `pid`: its exit status, or 128 + the signal that ended it.
int WaitFor(pid_t pid);
// What waitpid's `wait_status` says, as WaitFor returns it.
int ExitStatus(int wait_status);
// The whole file, or "" when it cannot be read (a child's output that is not there yet).
std::string ReadWholeFile(const std::string& path);
// The endpoints whistle-dispatcher --endpoints-file wrote ("front=..." and "bus=..." lines).
// false until both are there.
bool ReadEndpoints(const std::string& path, std::string* front, std::string* bus);

// Writes `text` to `path` whole: a temporary file beside it, renamed into place, so a reader (a
// test or a supervisor waiting for a daemon's --endpoints-file) never sees half of it.
// UNAVAILABLE saying why when it cannot (a directory that is not there).
Status WriteWholeFile(const std::string& path, const std::string& text);

// The directory holding the running executable (from /proc/self/exe).
std::string SelfDirectory();

// A new, empty directory "<$TMPDIR or /tmp>/<prefix>-XXXXXX" (mkdtemp: unique, mode 0700).
// Throws std::runtime_error when it cannot be made (a start-up failure of the tool).
std::string MakeTempDirectory(const std::string& prefix);

}  // namespace whistle
