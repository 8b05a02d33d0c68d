// Hooks: turning a pre_hooks/post_hooks entry into a step (registered step, Python function via
// the binding's resolver, or a shell command run by SystemCall).
#pragma once

#include <memory>
#include <string>

#include "stpipe/core/step.h"

namespace stpipe {

/// Runs a shell command through /bin/sh; `{0}` (or `{}`) is replaced by the shell-quoted file
/// name of the input (a product is saved first). Logs its output; a non-zero exit fails.
class SystemCall : public Step {
 public:
  std::string class_name() const override { return "SystemCall"; }
  std::string doc() const override { return "Run a shell command as a step (hooks)"; }
  std::string spec() const override;
  Datum process(const Datum& input) override;
};

/// Quotes a string for /bin/sh.
std::string shell_quote(const std::string& s);

/// The result of a shell command.
struct ShellResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
/// Runs `command` with /bin/sh -c, capturing stdout and stderr. Throws StepError if it cannot
/// start.
ShellResult run_shell(const std::string& command);

namespace detail {
/// Builds the hook step for one entry, configured and named `name` with `owner` as parent.
std::unique_ptr<Step> make_hook(Step& owner, const std::string& text, const std::string& name);
}  // namespace detail

/// The Python hook resolver, if the binding installed one.
HookResolver current_hook_resolver();

}  // namespace stpipe
