#include "tests/testing/thread_policy.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace whistle::testing {

std::vector<int> SchedulingPolicies(pid_t pid, const std::string& name) {
  const std::filesystem::path tasks =
      std::filesystem::path("/proc") / (pid == 0 ? std::string("self") : std::to_string(pid)) / "task";
  std::vector<int> policies;
  std::error_code ec;  // a process that exits while it is read has no threads left to report
  for (std::filesystem::directory_iterator it(tasks, ec), end; !ec && it != end; it.increment(ec)) {
    const std::filesystem::directory_entry& task = *it;
    std::string comm;
    std::getline(std::ifstream(task.path() / "comm"), comm);
    if (comm != name) continue;
    // stat: "tid (comm) state ppid ...": policy is field 41, the 39th after the name, which may
    // hold spaces and parentheses of its own, so count from the last ')'.
    std::string stat;
    std::getline(std::ifstream(task.path() / "stat"), stat);
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;  // the thread left while being read
    std::istringstream fields(stat.substr(close + 1));
    std::string field;
    for (int i = 3; i <= 41 && fields >> field; ++i) {
      if (i == 41) policies.push_back(std::stoi(field));
    }
  }
  return policies;
}

}  // namespace whistle::testing
