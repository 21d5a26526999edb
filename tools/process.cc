#include "tools/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

namespace whistle {

pid_t Spawn(const std::vector<std::string>& args, const std::string& stdout_path, bool merge_stderr,
            bool own_process_group) {
  // Everything the child needs is made before fork: the caller may have other threads (the crash
  // checker's clients), and one of them may hold the allocator's lock at the fork, which the child
  // would then wait on for good. The child only calls async-signal-safe functions. (Under ASan a
  // child that copied its arguments after fork hung before exec, once in a CI run.)
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const char* out = stdout_path.empty() ? nullptr : stdout_path.c_str();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // A signal mask survives exec: a parent that blocks its stop signals to wait for them (as
    // whistle-city does) must not hand that to a daemon that stops on them.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (own_process_group) setpgid(0, 0);
    if (out != nullptr) {
      int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0) _exit(126);
      dup2(fd, 1);
      if (merge_stderr) dup2(fd, 2);
      close(fd);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int WaitFor(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return ExitStatus(status);
}

int ExitStatus(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool ReadEndpoints(const std::string& path, std::string* front, std::string* bus) {
  std::istringstream in(ReadWholeFile(path));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("front=", 0) == 0) *front = line.substr(6);
    if (line.rfind("bus=", 0) == 0) *bus = line.substr(4);
  }
  return !front->empty() && !bus->empty();
}

Status WriteWholeFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return Unavailable(fmt::format("cannot write {}", tmp));
  }
  std::error_code error;
  std::filesystem::rename(tmp, path, error);
  if (error) {
    std::error_code ignored;  // the rename's error is the one to report
    std::filesystem::remove(tmp, ignored);
    return Unavailable(fmt::format("cannot write {}: {}", path, error.message()));
  }
  return Status::Ok();
}

std::string SelfDirectory() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().string();
}

std::string MakeTempDirectory(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot make a directory " + pattern);
  return pattern;
}

}  // namespace whistle
