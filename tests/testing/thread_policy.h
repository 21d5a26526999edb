// The scheduling policies (SCHED_OTHER, SCHED_IDLE, ...) of a process's threads of one name, read
// from /proc: for checks that a thread pool runs at the priority it was given.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace whistle::testing {

// The policy of each thread of `pid` (0: this process) whose name (/proc/.../comm) is `name`;
// empty when there is none.
std::vector<int> SchedulingPolicies(pid_t pid, const std::string& name);

}  // namespace whistle::testing
