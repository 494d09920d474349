#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace switchyard::testing {

/// A program started by a test, its standard output and error captured in one file. Killed if still
/// running when destroyed.
class ChildProcess {
 public:
  /// `environment` is added to (and overrides) this process' own.
  ChildProcess(const std::string& program, const std::vector<std::string>& arguments,
               const std::map<std::string, std::string>& environment = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void signal(int signal_number);
  /// The exit status once the process ended within `timeout`; -signal when a signal ended it.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  /// Everything it printed so far.
  std::string output() const;
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  std::string output_path_;
  std::optional<int> status_;
};

/// Runs a program to its end and returns its exit status and output.
struct Completed {
  int status;
  std::string output;
};
Completed run_to_end(const std::string& program, const std::vector<std::string>& arguments,
                     const std::map<std::string, std::string>& environment = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace switchyard::testing
