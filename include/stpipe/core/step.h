// Step and Pipeline: configurable units of work with stpipe's parameters, hooks, skip, output
// naming, saving and logging around process(); pipelines of named sub-steps nested to any depth.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "stpipe/config/configspec.h"
#include "stpipe/core/parameters.h"
#include "stpipe/core/product.h"
#include "stpipe/core/step_registry.h"
#include "stpipe/util/error.h"

namespace stpipe {

class Pipeline;

/// The parameters every step inherits, as stpipe declares them (output_ext defaults to None:
/// the product's own extension is used).
extern const char* const kStandardSpec;

/// Options of Step::call (besides the input): the user's config file and keyword overrides.
struct CallOptions {
  std::optional<std::filesystem::path> config_file;
  /// Keyword overrides as a tree: {"rejection_threshold": 5, "steps": {"jump": {...}}}.
  config::Tree overrides = config::Tree::object();
  /// Values in `overrides` came from the command line (paths resolve against the CWD).
  bool from_command_line = false;
  /// Fetch pars-<class> reference parameters (when a provider is installed).
  bool use_crds_pars = true;
  /// Linear pipelines: run from / up to these sub-steps.
  std::string start_step;
  std::string end_step;
  /// Name of the original input when resuming (output names follow it).
  std::string primary_input;
  /// Force saving of the outermost result (strun does).
  bool save_results = false;
};

/// Looks up pars-<class> parameters for an input: returns a tree (or an empty object) and the
/// file it came from. Installed by the reference-data layer.
using ParsProvider = std::function<std::optional<std::pair<config::Tree, std::string>>(
    const std::string& class_name, const Datum& input)>;
void set_pars_provider(ParsProvider provider);

/// Resolves reference files for a step: reftype -> local path or "N/A". Installed by the
/// reference-data layer; without one, only override_<reftype> parameters can supply files.
struct ReferenceChoice {
  std::string path;      ///< local file path, or "N/A"
  std::string recorded;  ///< what the product records (crds://name, abs path, N/A)
};
using ReferenceResolver = std::function<std::map<std::string, ReferenceChoice>(
    const std::vector<std::string>& reftypes, Product& product)>;
void set_reference_resolver(ReferenceResolver resolver);
/// The installed resolver (empty if none).
ReferenceResolver current_reference_resolver();

/// Opens a file as a product (JSON datasets in the core; data models once registered).
using ProductOpener = std::function<ProductPtr(const std::filesystem::path&)>;
void set_model_opener(ProductOpener opener);
ProductPtr open_product(const std::filesystem::path& path);

/// Resolves hook strings the core does not know (e.g. Python functions `module.func`): returns
/// a step to run, or nullptr to fall back to a shell command. Installed by the Python binding.
using HookResolver = std::function<std::unique_ptr<class Step>(const std::string& text)>;
void set_hook_resolver(HookResolver resolver);

/// A configurable unit of work. Subclasses declare their class (name, spec, reference types,
/// alias) through the virtual describers and implement process(); everything else (parameters,
/// hooks, skip, saving, logging, timing) is run() around it.
/// Invariant: after configuration, params_ holds a validated value for every spec key.
class Step {
 public:
  Step() = default;
  virtual ~Step();
  Step(const Step&) = delete;
  Step& operator=(const Step&) = delete;

  // ---- class description ----
  /// Registered class name, e.g. "JumpStep".
  virtual std::string class_name() const = 0;
  /// Other names: the cal_step alias first if any (e.g. "jump"), then dotted names.
  virtual std::vector<std::string> aliases() const { return {}; }
  /// The class's own configspec lines (merged over kStandardSpec).
  virtual std::string spec() const { return {}; }
  /// CRDS reference types this step reads (each adds an override_<type> parameter).
  virtual std::vector<std::string> reference_file_types() const { return {}; }
  /// Reference types among reference_file_types() whose N/A does not skip the step (the step
  /// then runs without that file, e.g. saturation's superbias for MIRI).
  virtual std::vector<std::string> optional_reference_file_types() const { return {}; }
  /// Reference types among reference_file_types() that the step can do without when they cannot
  /// be had at all (no CRDS match, no reference-data system, N/A): the lookup failure is a
  /// warning and reference_path() is empty, as jwst's guider_cds falls back to default values.
  virtual std::vector<std::string> defaulted_reference_file_types() const { return {}; }
  /// Key in meta.cal_step recorded COMPLETE/SKIPPED ("" = none).
  virtual std::string cal_step_key() const { return {}; }
  /// One-line description for `stpipe list` and `--help`.
  virtual std::string doc() const { return {}; }
  /// Suffixes stripped from input names when building output names (`jw1_uncal` -> `jw1`).
  virtual bool strip_known_suffixes() const { return true; }
  virtual bool is_pipeline() const { return false; }

  // ---- work ----
  /// The step's algorithm. The input is a product or file name; return the result.
  virtual Datum process(const Datum& input) = 0;
  /// Runs the step: hooks, skip, reference files, process, cal_step, saving, logging. The input
  /// is taken by value: a caller that moves its product in (as a linear pipeline does with its
  /// working product) lets the step own it, so process() may take it over (take_input()).
  Datum run(Datum input);

  /// Builds a configured instance of `class_name` from every layer of the precedence chain and
  /// runs it on `input` (stpipe's Step.call). Throws ConfigError on bad parameters.
  static Datum call(const std::string& class_name, const Datum& input,
                    const CallOptions& options = {},
                    const StepRegistry& registry = StepRegistry::global());
  template <class S>
  static Datum call(const Datum& input, const CallOptions& options = {}) {
    return call(S().class_name(), input, options);
  }

  /// Builds a configured instance (what call() does before running). Reads the config file,
  /// sub-step config files and pars references; `input` is used for the pars lookup only.
  static std::unique_ptr<Step> build(const std::string& class_name, const Datum& input,
                                     const CallOptions& options,
                                     const StepRegistry& registry = StepRegistry::global());

  /// Configures an existing instance from layers (lowest first): validates, sets parameters,
  /// creates sub-steps. `name` defaults to the class name. Throws ConfigError.
  static void configure(Step& step, const std::vector<ConfigLayer>& layers, const std::string& name,
                        const StepRegistry& registry = StepRegistry::global());

  /// Builds from already assembled layers (lowest first). `name` defaults to the class name.
  static std::unique_ptr<Step> from_layers(const std::string& class_name,
                                           const std::vector<ConfigLayer>& layers,
                                           const std::string& name = "",
                                           const StepRegistry& registry = StepRegistry::global());

  // ---- parameters ----
  /// Typed parameter value; throws ConfigError if the key is unknown or of another type.
  template <class T>
  T get(const std::string& key) const {
    const auto& v = param(key);
    try {
      return v.template get<T>();
    } catch (const std::exception&) {
      throw ConfigError("Parameter '" + key + "' of step '" + name_ + "' is " +
                        std::string(v.type_name()) + ", not the requested type");
    }
  }
  /// Raw typed value (null for None). Throws ConfigError for an unknown key.
  const config::Tree& param(const std::string& key) const;
  bool is_none(const std::string& key) const { return param(key).is_null(); }
  /// Sets a parameter after construction, checked against the spec. Throws ConfigError.
  void set(const std::string& key, const nlohmann::json& value);
  /// Where a parameter's value came from.
  ParamSource source_of(const std::string& key) const;
  /// Every parameter (pipelines add "steps": {name: sub.get_pars()}), as stpipe's get_pars.
  config::Tree get_pars() const;
  /// The merged spec of this class: standard + class spec + override_<type> (+ [steps]).
  config::SpecSection merged_spec() const;

  /// Writes the parameters: .cfg (ConfigObj) or .asdf/.yaml (stpipe step_config layout).
  void save_parameters(const std::filesystem::path& path) const;

  // ---- identity ----
  const std::string& name() const { return name_; }
  /// stpipe.<name> for a top-level step, <parent>.<name> for a sub-step.
  std::string qualified_name() const;
  Step* parent() const { return parent_; }
  spdlog::logger& log() const;
  /// Reference files used by the last run: (reftype, recorded name).
  const std::vector<std::pair<std::string, std::string>>& reference_files_used() const {
    return refs_used_;
  }
  /// The local path chosen for a reference type during this run ("N/A" if not applicable).
  std::string reference_path(const std::string& reftype) const;

  // ---- output ----
  /// Output name as stpipe builds it (see the README's table). `suffix` nullopt = the step's.
  std::filesystem::path make_output_path(const std::string& basepath = "",
                                         const std::string& ext = "",
                                         std::optional<std::string> suffix = std::nullopt,
                                         std::optional<int> idx = std::nullopt) const;
  /// Saves a product if saving is asked for (or `force`); returns the path or "".
  std::filesystem::path save_model(Product& product, std::optional<int> idx = std::nullopt,
                                   bool force = false,
                                   std::optional<std::string> suffix = std::nullopt);
  /// The path save_model would write the product to, or "" when it would not save it.
  std::filesystem::path save_path(const Product& product, std::optional<int> idx = std::nullopt,
                                  bool force = false,
                                  std::optional<std::string> suffix = std::nullopt) const;
  /// The primary input's file name (searched up the parents) or "".
  std::string input_filename() const;
  void set_primary_input(const Datum& input);
  /// Sets the primary input's name (output names follow it), e.g. when resuming.
  void set_input_filename(const std::string& name) { input_filename_ = name; }
  /// Forces saving of this step's result (strun does it for the outermost step).
  void set_force_save(bool force) { force_save_ = force; }
  /// Opens a path as a product (models or JSON); products pass through.
  ProductPtr open_model(const Datum& input) const;
  /// Strips one known product suffix (uncal, rate, step names...) from a base name; returns the
  /// base and the separator found ("_" when none).
  std::pair<std::string, std::string> remove_suffix(const std::string& base) const;

  /// Seconds spent in the last run().
  double elapsed_seconds() const { return elapsed_; }
  /// True if the last run() skipped the step.
  bool was_skipped() const { return skipped_; }

 protected:
  friend class Pipeline;
  /// Called once parameters are set (pipelines create their sub-steps here).
  virtual void configure_children(const ResolvedParams& params, const StepRegistry& registry);
  /// Waits for saves that process() left running on another thread and reports them: called
  /// by save_model once its file is written, before it reports that file, and by run() after
  /// the result's save (also when nothing was saved), so the log keeps the order of a
  /// sequential run. Nothing by default.
  virtual void wait_background_saves() {}
  /// Pipelines: reference files of all unskipped sub-steps, looked up before process(); returns
  /// the input, opened as a product if it had to be opened for the lookup.
  virtual Datum prefetch(const Datum& input);
  /// Resolves this step's references for the input product (override_* first).
  void resolve_references(Product& product);
  /// The file a path input names, resolved as open_model() resolves it (input_dir).
  std::filesystem::path input_path(const Datum& input) const;
  /// Runs a list of hook strings around the step.
  Datum run_hooks(const char* kind, const Datum& data);
  /// For process(): `input` itself, taken over when it is run()'s own copy, so run() does not
  /// keep it alive while later work needs the memory; afterwards `input` is empty. Otherwise a
  /// shared copy. Whether anyone else still holds the product is for the caller to check (a
  /// product the user passed in is still theirs).
  Datum take_input(const Datum& input);

  std::string name_;
  Step* parent_ = nullptr;
  config::Tree params_ = config::Tree::object();
  std::map<std::string, ParamSource> sources_;
  const StepRegistry* registry_ = nullptr;
  std::string input_filename_;
  std::string input_dir_;
  std::vector<std::pair<std::string, std::string>> refs_used_;
  std::map<std::string, std::string> ref_paths_;
  double elapsed_ = 0;
  Datum* run_args_ = nullptr;  // run()'s own copy of the input while process() runs
  bool skipped_ = false;
  bool force_save_ = false;
  bool suppress_save_ = false;  ///< a linear pipeline stopped early: no final product
  mutable std::shared_ptr<spdlog::logger> logger_;
};

/// A Step made of named sub-steps (step_defs), each configured under [steps] [[name]].
/// Linear pipelines run their steps in step_defs order and can start, stop and resume at any
/// step; others override process() with ordinary C++.
class Pipeline : public Step {
 public:
  /// Ordered (name, registered class) pairs.
  virtual std::vector<std::pair<std::string, std::string>> step_defs() const = 0;
  /// Linear pipelines may be started/stopped at any step; the default process runs them in order.
  virtual bool is_linear() const { return true; }
  bool is_pipeline() const override { return true; }
  Datum process(const Datum& input) override;

  /// The sub-step called `name`. Throws ConfigError if there is none.
  Step& step(const std::string& name) const;
  const std::vector<std::pair<std::string, std::unique_ptr<Step>>>& steps() const { return steps_; }

  /// Linear runs: first and last sub-step to run ("" = from the start / to the end).
  void set_start_step(const std::string& name);
  void set_end_step(const std::string& name);
  /// Run-state file written when the last run stopped at end_step ("" otherwise).
  const std::filesystem::path& state_file() const { return state_file_; }
  bool stopped_early() const { return stopped_early_; }
  /// Steps completed in this run (and, when resumed, before it).
  const std::vector<std::string>& completed_steps() const { return completed_; }
  /// Marks steps as already completed (resume).
  void set_completed_steps(std::vector<std::string> done) { completed_ = std::move(done); }

 protected:
  void configure_children(const ResolvedParams& params, const StepRegistry& registry) override;
  Datum prefetch(const Datum& input) override;
  /// Hook for linear pipelines: whether a sub-step applies to this input (instrument branches);
  /// a step that does not apply is recorded SKIPPED.
  virtual bool applies(const std::string& /*step_name*/, const Datum& /*input*/) const {
    return true;
  }
  /// Hook for linear pipelines: called with the working product just before a sub-step that
  /// applies runs (skipped or not), e.g. to save it. applies() is also asked while the
  /// references are prefetched, before any step has run, so it must not act.
  virtual void before_step(const std::string& /*step_name*/, const Datum& /*input*/) {}

  std::vector<std::pair<std::string, std::unique_ptr<Step>>> steps_;
  std::string start_step_;
  std::string end_step_;
  std::filesystem::path state_file_;
  bool stopped_early_ = false;
  std::vector<std::string> completed_;
};

/// Resumes a linear pipeline from a run-state file (strun --resume). Overrides apply on top of
/// the saved parameters. Throws ConfigError/IoError.
Datum resume_pipeline(const std::filesystem::path& state_file, const CallOptions& options = {},
                      const StepRegistry& registry = StepRegistry::global());

/// Reads a parameter file (.cfg ConfigObj, or .asdf/.yaml step_config) as a tree with "class",
/// "name" and parameters, sub-steps under "steps". Throws ConfigError/IoError.
config::Tree load_config_file(const std::filesystem::path& path);

/// Lines describing every parameter of a class: name, check, default, current value, source,
/// help (for `strun CLASS -h` and `stpipe describe`).
std::string describe_parameters(const Step& step);

}  // namespace stpipe
