// Pipeline: sub-step creation, linear runs with start/stop/resume, prefetch; parameter files.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <map>

#include "stpipe/config/configobj.h"
#include "stpipe/core/step.h"
#include "stpipe/log/logging.h"
#include "stpipe/util/atomic_file.h"
#include "stpipe/version.h"

namespace stpipe {

namespace fs = std::filesystem;

void Pipeline::configure_children(const ResolvedParams& params, const StepRegistry& registry) {
  Step::configure_children(params, registry);
  steps_.clear();
  const auto& all =
      params.values.contains("steps") ? params.values["steps"] : config::Tree::object();
  for (const auto& [sname, cls] : step_defs()) {
    auto child = registry.create(cls);
    child->registry_ = &registry;
    child->name_ = sname;
    child->parent_ = this;
    ResolvedParams sub;
    if (all.contains(sname)) sub.values = all[sname];
    for (const char* k : {"config_file", "name", "class"}) sub.values.erase(k);
    std::string prefix = "steps/" + sname + "/";
    for (const auto& [k, s] : params.sources) {
      if (k.rfind(prefix, 0) == 0) sub.sources[k.substr(prefix.size())] = s;
    }
    child->configure_children(sub, registry);
    steps_.emplace_back(sname, std::move(child));
  }
}

Step& Pipeline::step(const std::string& name) const {
  for (const auto& [n, s] : steps_) {
    if (n == name) return *s;
  }
  throw ConfigError("Pipeline '" + name_ + "' (" + class_name() + ") has no step '" + name + "'");
}

void Pipeline::set_start_step(const std::string& name) {
  if (!is_linear()) throw ConfigError(class_name() + " is not a linear pipeline: no --start-step");
  if (!name.empty()) step(name);
  start_step_ = name;
}

void Pipeline::set_end_step(const std::string& name) {
  if (!is_linear()) throw ConfigError(class_name() + " is not a linear pipeline: no --end-step");
  if (!name.empty()) step(name);
  end_step_ = name;
}

Datum Pipeline::prefetch(const Datum& input) {
  if (!input.is_product() && !input.is_path()) return input;
  std::vector<std::string> types;
  std::map<std::string, std::string> overrides;
  bool started = start_step_.empty();
  for (const auto& [n, s] : steps_) {
    if (!started && n == start_step_) started = true;
    if (!started || s->get<bool>("skip") || s->reference_file_types().empty()) continue;
    if (!applies(n, input)) continue;
    for (const auto& t : s->reference_file_types()) {
      const auto& ov = s->param("override_" + t);
      if (ov.is_string() && !ov.get<std::string>().empty()) {
        overrides[t] = ov.get<std::string>();
      } else if (std::find(types.begin(), types.end(), t) == types.end()) {
        types.push_back(t);
      }
    }
  }
  if (types.empty() && overrides.empty()) return input;
  std::string list;
  for (const auto& t : types) list += (list.empty() ? "'" : ", '") + t + "'";
  log().info("Prefetching reference files for dataset: {} reftypes = [{}]", input.describe(), list);
  for (const auto& [t, v] : overrides) log().info("Override for {} reference file is '{}'.", t, v);
  auto resolver = current_reference_resolver();
  if (!resolver || types.empty()) return input;
  ProductPtr p = open_model(input);  // opened once here, then handed to the first step
  try {
    for (const auto& [t, choice] : resolver(types, *p)) {
      log().info("Prefetch for {} reference file is '{}'.", t, choice.path);
    }
  } catch (const Error& e) {
    // The step that needs the file reports the failure when it runs.
    log().warn("Prefetch failed: {}", e.what());
  }
  return p;
}

Datum Pipeline::process(const Datum& input) {
  if (!is_linear()) {
    throw StepError(class_name() + " must implement process(): it is not a linear pipeline");
  }
  // The pipeline owns its working product: a raw exposure opened by run() is released as soon
  // as the first step has replaced it (e.g. the uint16 Level1bModel once dq_init made a ramp).
  Datum x = take_input(input);
  bool started = start_step_.empty();
  stopped_early_ = false;
  state_file_.clear();
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    auto& [sname, s] = steps_[i];
    if (!started) {
      if (sname != start_step_) continue;
      started = true;
      log().info("Starting at step {}", sname);
    }
    if (!applies(sname, x)) {
      log().info("Step {} does not apply to this exposure: skipped", sname);
      if (x.is_path()) x = open_model(x);
      if (x.is_product() && !s->cal_step_key().empty() && x.product()->has_cal_step()) {
        x.product()->set_cal_step(s->cal_step_key(), "SKIPPED");
      }
      completed_.push_back(sname);
      continue;
    }
    before_step(sname, x);
    x = s->run(std::move(x));  // the step owns the working product while it runs
    completed_.push_back(sname);
    if (sname == end_step_ && i + 1 < steps_.size()) {
      ProductPtr p = open_model(x);
      x = p;
      fs::path inter = make_output_path(
          "", is_none("output_ext") ? p->default_extension() : get<std::string>("output_ext"),
          sname);
      p->save(inter);
      log().info("Stopped after step {}: intermediate product saved in {}", sname, inter.string());
      fs::path state = inter;
      state.replace_extension(".state.json");
      nlohmann::ordered_json st;
      st["stpipe_run_state"] = 1;
      st["stpipe_version"] = kVersion;
      st["pipeline_class"] = class_name();
      st["name"] = name_;
      st["input"] = input_filename();
      st["intermediate"] = fs::absolute(inter).string();
      st["completed_steps"] = completed_;
      st["next_step"] = steps_[i + 1].first;
      st["parameters"] = get_pars();
      write_text_atomically(state, st.dump(2) + "\n");
      log().info("Run state saved in {}; continue with: strun --resume {}", state.string(),
                 state.string());
      state_file_ = state;
      stopped_early_ = true;
      suppress_save_ = true;
      break;
    }
  }
  if (!started) {
    throw ConfigError("start step '" + start_step_ + "' is not a step of " + class_name());
  }
  return x;
}

Datum resume_pipeline(const fs::path& state_file, const CallOptions& options,
                      const StepRegistry& registry) {
  nlohmann::ordered_json st;
  try {
    st = nlohmann::ordered_json::parse(read_text_file(state_file));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw ConfigError("Run-state file '" + state_file.string() +
                      "' is not valid JSON: " + e.what());
  }
  for (const char* k : {"pipeline_class", "parameters", "next_step", "intermediate", "input"}) {
    if (!st.contains(k)) {
      throw ConfigError("Run-state file '" + state_file.string() + "' has no '" + k + "'");
    }
  }
  ConfigLayer saved;
  saved.source = ParamSource::kConfigFile;
  saved.origin = state_file.string();
  saved.tree = st["parameters"];
  // Sub-step config files were already merged into the saved values.
  std::function<void(config::Tree&)> strip = [&](config::Tree& t) {
    if (!t.contains("steps")) return;
    for (auto it = t["steps"].begin(); it != t["steps"].end(); ++it) {
      it->erase("config_file");
      strip(*it);
    }
  };
  strip(saved.tree);
  ConfigLayer over;
  over.source = ParamSource::kOverride;
  over.tree = options.overrides;
  over.context.from_command_line = options.from_command_line;
  std::string cls = st["pipeline_class"];
  auto step = Step::from_layers(cls, {saved, over}, st.value("name", std::string()), registry);
  auto* p = dynamic_cast<Pipeline*>(step.get());
  if (!p) throw ConfigError("Run-state file names '" + cls + "', which is not a pipeline");
  p->set_start_step(st["next_step"]);
  if (!options.end_step.empty()) p->set_end_step(options.end_step);
  std::vector<std::string> done;
  for (const auto& d : st["completed_steps"]) done.push_back(d);
  p->set_completed_steps(done);
  p->set_input_filename(st["input"].get<std::string>());
  p->set_force_save(true);
  std::string inter = st["intermediate"];
  if (!fs::exists(inter)) {
    throw IoError("Intermediate product '" + inter + "' named in '" + state_file.string() +
                  "' does not exist");
  }
  p->log().info("Resuming {} at step {} from {}", cls, st["next_step"].get<std::string>(), inter);
  return p->run(Datum(inter));
}

}  // namespace stpipe
