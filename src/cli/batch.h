// Batches of exposures for strun (internal): inputs from the command line and @lists, each run
// in its own strun process, N at a time, with a log per exposure, progress, a summary table and
// --skip-existing.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace stpipe::cli {

struct BatchRequest {
  std::string strun;                   ///< the strun executable run for each exposure
  std::vector<std::string> base_args;  ///< class/config and options, without inputs
  std::vector<std::string> inputs;     ///< already expanded (expand_inputs)
  std::string class_name;              ///< resolved step class (recorded for --skip-existing)
  int jobs = 1;                        ///< exposures run at once
  bool skip_existing = false;
  int threads = 0;  ///< OpenMP threads per exposure; 0: cores / jobs (OMP_NUM_THREADS wins)
  std::filesystem::path output_dir;  ///< where the products, logs and records go
};

/// The value of option `opt` as a positive integer (-j, --array-size...). Throws ConfigError
/// "argument OPT: expected a positive integer, got 'V'".
int positive_count(const std::string& opt, const std::string& value);

/// Inputs with every `@list` replaced by the files it lists (one per line; blank lines and
/// `#` comments skipped; relative names are relative to the list's folder). Throws IoError
/// naming a list that cannot be read or that names no file.
std::vector<std::string> expand_inputs(const std::vector<std::string>& raw);

/// The log and record files of one exposure in `dir`: <dir>/<stem>.log and
/// <dir>/<stem>.batch.json, where <stem> is the file name without .fits/.fits.gz/.asdf/.json.
std::filesystem::path batch_log_path(const std::filesystem::path& dir, const std::string& input);
std::filesystem::path batch_record_path(const std::filesystem::path& dir, const std::string& input);

/// Runs the batch; prints progress and the summary table on stderr. Returns 0 when every
/// exposure succeeded or was skipped, else the exit code of the first failure (1 for a crash).
int run_batch(const BatchRequest& request);

}  // namespace stpipe::cli
