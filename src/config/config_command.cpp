// `stpipe config dump FILE [--spec SPECFILE]`: prints a ConfigObj file (optionally validated) as
// JSON.
#include <fstream>
#include <iostream>
#include <sstream>

#include "stpipe/cli/commands.h"
#include "stpipe/config/configspec.h"
#include "stpipe/util/error.h"

namespace stpipe::cli {

namespace {

constexpr const char* kUsage = "usage: stpipe config dump FILE [--spec SPECFILE]";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("Cannot read spec file '" + path + "'");
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace

int config_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "dump") {
    std::cerr << "ERROR: " << kUsage << "\n";
    return static_cast<int>(ExitCode::kConfigError);
  }
  std::optional<std::string> file;
  std::optional<std::string> spec_path;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--spec") {
      if (i + 1 >= args.size()) {
        std::cerr << "ERROR: --spec needs a file name\n" << kUsage << "\n";
        return static_cast<int>(ExitCode::kConfigError);
      }
      spec_path = args[++i];
    } else if (a.rfind("--spec=", 0) == 0) {
      spec_path = a.substr(7);
    } else if (a == "-h" || a == "--help") {
      std::cout << kUsage << "\n";
      return 0;
    } else if (!file && (a.empty() || a[0] != '-')) {
      file = a;
    } else {
      std::cerr << "ERROR: unexpected argument '" << a << "'\n" << kUsage << "\n";
      return static_cast<int>(ExitCode::kConfigError);
    }
  }
  if (!file) {
    std::cerr << "ERROR: " << kUsage << "\n";
    return static_cast<int>(ExitCode::kConfigError);
  }
  try {
    std::optional<std::string> spec_text;
    if (spec_path) spec_text = read_text(*spec_path);
    std::cout << config::dump_config_json(*file, spec_text) << "\n";
    return 0;
  } catch (const Error& e) {
    std::cerr << "ERROR: " << e.what() << "\n";
    return static_cast<int>(e.exit_code());
  } catch (const std::exception& e) {
    std::cerr << "ERROR: " << e.what() << "\n";
    return static_cast<int>(ExitCode::kStepFailure);
  }
}

}  // namespace stpipe::cli
