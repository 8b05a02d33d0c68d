// Step: configuration from layers, run() with hooks/skip/references/saving/logging, naming.
#include "stpipe/core/step.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <regex>
#include <set>

#include "core/hooks.h"
#include "stpipe/config/configobj.h"
#include "stpipe/core/json_product.h"
#include "stpipe/log/logging.h"
#include "stpipe/util/error.h"
#include "stpipe/util/strings.h"

namespace stpipe {

namespace fs = std::filesystem;

const char* const kStandardSpec = R"(
pre_hooks = list(default=list())  # List of Step classes to run before step
post_hooks = list(default=list())  # List of Step classes to run after step
output_file = output_file(default=None)  # File to save output to.
output_dir = string(default=None)  # Directory path for output files (created if nonexistent)
output_ext = string(default=None)  # Default type of output (the product's own when None)
output_use_model = boolean(default=False)  # When saving use `DataModel.meta.filename`
output_use_index = boolean(default=True)  # Append index.
save_results = boolean(default=False)  # Force save results
skip = boolean(default=False)  # Skip this step
suffix = string(default=None)  # Default suffix for output files
search_output_file = boolean(default=True)  # Use outputfile define in parent step
input_dir = string(default=None)  # Input directory
)";

namespace {

struct Providers {
  std::mutex mutex;
  ParsProvider pars;
  ReferenceResolver refs;
  ProductOpener models;
  HookResolver hooks;
};

Providers& providers() {
  static Providers p;
  return p;
}

const config::SpecSection& standard_spec() {
  static const config::SpecSection spec = config::parse_configspec(kStandardSpec, "standard spec");
  return spec;
}

std::string expand_path(const std::string& p) {
  std::string out;
  std::size_t i = 0;
  if (!p.empty() && p[0] == '~') {
    const char* home = std::getenv("HOME");
    out = home ? home : "";
    i = 1;
  }
  for (; i < p.size(); ++i) {
    if (p[i] == '$') {
      std::size_t j = i + 1;
      bool brace = j < p.size() && p[j] == '{';
      if (brace) ++j;
      std::size_t k = j;
      while (k < p.size() && (std::isalnum(static_cast<unsigned char>(p[k])) || p[k] == '_')) ++k;
      if (k > j && (!brace || (k < p.size() && p[k] == '}'))) {
        const char* v = std::getenv(p.substr(j, k - j).c_str());
        if (v) {
          out += v;
          i = brace ? k : k - 1;
          continue;
        }
      }
    }
    out += p[i];
  }
  return out;
}

/// Collects the products in a datum (a product, or each product of a list).
void products_of(const Datum& d, std::vector<ProductPtr>& out) {
  if (d.is_product() && d.product()) out.push_back(d.product());
  if (d.is_list()) {
    for (const auto& x : d.list()) products_of(x, out);
  }
}

/// Loads steps.<name>.config_file entries of a layer as lower-precedence layers.
void expand_subconfigs(const config::Tree& node, const ConfigLayer& layer,
                       std::vector<std::string> path, std::vector<ConfigLayer>& out) {
  if (!node.is_object() || !node.contains("steps") || !node["steps"].is_object()) return;
  for (auto it = node["steps"].begin(); it != node["steps"].end(); ++it) {
    if (!it->is_object()) continue;
    auto sub_path = path;
    sub_path.push_back(it.key());
    if (it->contains("config_file") && (*it)["config_file"].is_string()) {
      fs::path f = (*it)["config_file"].get<std::string>();
      if (f.is_relative() && !layer.context.from_command_line && !layer.context.base_dir.empty()) {
        f = layer.context.base_dir / f;
      }
      config::Tree sub = load_config_file(f);
      sub.erase("class");
      sub.erase("name");
      sub.erase("config_file");
      ConfigLayer l;
      l.source = ParamSource::kStepConfigFile;
      l.origin = f.string();
      l.context.base_dir = fs::absolute(f).parent_path();
      config::Tree nested = sub;
      for (auto p = sub_path.rbegin(); p != sub_path.rend(); ++p) {
        nested = config::Tree{{"steps", config::Tree{{*p, nested}}}};
      }
      l.tree = nested;
      expand_subconfigs(sub, l, {}, out);  // nested files relative to their own file
      // Re-root the nested results of that file under this step's path.
      out.push_back(std::move(l));
    }
    expand_subconfigs(*it, layer, sub_path, out);
  }
}

}  // namespace

void set_pars_provider(ParsProvider provider) {
  std::lock_guard lock(providers().mutex);
  providers().pars = std::move(provider);
}
void set_reference_resolver(ReferenceResolver resolver) {
  std::lock_guard lock(providers().mutex);
  providers().refs = std::move(resolver);
}
ReferenceResolver current_reference_resolver() {
  std::lock_guard lock(providers().mutex);
  return providers().refs;
}

void set_model_opener(ProductOpener opener) {
  std::lock_guard lock(providers().mutex);
  providers().models = std::move(opener);
}
void set_hook_resolver(HookResolver resolver) {
  std::lock_guard lock(providers().mutex);
  providers().hooks = std::move(resolver);
}

ProductPtr open_product(const fs::path& path) {
  if (!fs::exists(path)) throw IoError("Input file '" + path.string() + "' does not exist");
  if (path.extension() == ".json") return JsonProduct::open(path);
  ProductOpener opener;
  {
    std::lock_guard lock(providers().mutex);
    opener = providers().models;
  }
  if (!opener) {
    throw IoError("Cannot open '" + path.string() + "': no data-model support for this file type");
  }
  return opener(path);
}

HookResolver current_hook_resolver() {
  std::lock_guard lock(providers().mutex);
  return providers().hooks;
}

Step::~Step() = default;

// ---------------------------------------------------------------- configuration

config::SpecSection Step::merged_spec() const {
  config::SpecSection spec = standard_spec();
  std::string own = this->spec();
  if (!own.empty()) spec.merge(config::parse_configspec(own, class_name() + ".spec"));
  for (const auto& t : reference_file_types()) {
    config::Check c = config::parse_check("is_string_or_datamodel(default=None)");
    c.help = "Override the " + t + " reference file (a path, or N/A)";
    spec.set_check("override_" + t, c);
  }
  if (const auto* p = dynamic_cast<const Pipeline*>(this)) {
    const StepRegistry& reg = registry_ ? *registry_ : StepRegistry::global();
    config::SpecSection steps;
    for (const auto& [sname, cls] : p->step_defs()) {
      auto child = reg.create(cls);
      child->registry_ = &reg;
      config::SpecSection s = child->merged_spec();
      auto add = [&](const char* key, const char* help) {
        config::Check c = config::parse_check("string(default=None)");
        c.help = help;
        s.set_check(key, c);
      };
      add("config_file", "Parameter file for this step, relative to the pipeline's file");
      add("name", "Name of the step");
      add("class", "Class of the step");
      steps.set_section(sname, std::move(s));
    }
    spec.set_section("steps", std::move(steps));
  }
  return spec;
}

std::unique_ptr<Step> Step::from_layers(const std::string& class_name,
                                        const std::vector<ConfigLayer>& input_layers,
                                        const std::string& name, const StepRegistry& registry) {
  std::unique_ptr<Step> step = registry.create(class_name);
  configure(*step, input_layers, name, registry);
  return step;
}

void Step::configure(Step& target, const std::vector<ConfigLayer>& input_layers,
                     const std::string& name, const StepRegistry& registry) {
  Step* step = &target;
  step->registry_ = &registry;
  std::vector<ConfigLayer> layers;
  for (const auto& l : input_layers) {
    ConfigLayer c = l;
    c.tree.erase("class");
    c.tree.erase("name");
    c.tree.erase("config_file");
    std::vector<ConfigLayer> subs;
    expand_subconfigs(c.tree, c, {}, subs);
    for (auto& s : subs) layers.push_back(std::move(s));
    layers.push_back(std::move(c));
  }
  std::stable_sort(layers.begin(), layers.end(),
                   [](const ConfigLayer& a, const ConfigLayer& b) { return a.source < b.source; });
  ResolvedParams resolved = resolve_parameters(step->merged_spec(), layers);
  step->name_ = name.empty() ? step->class_name() : name;
  step->configure_children(resolved, registry);
}

void Step::configure_children(const ResolvedParams& params, const StepRegistry& /*registry*/) {
  params_ = params.values;
  params_.erase("steps");
  sources_.clear();
  for (const auto& [k, s] : params.sources) {
    if (k.find('/') == std::string::npos) sources_[k] = s;
  }
  logger_.reset();
  log().debug("{} instance created.", class_name());
}

std::unique_ptr<Step> Step::build(const std::string& class_name, const Datum& input,
                                  const CallOptions& options, const StepRegistry& registry) {
  const StepClassInfo& info = registry.get(class_name);
  std::vector<ConfigLayer> layers;
  std::string name;
  ParsProvider pars;
  {
    std::lock_guard lock(providers().mutex);
    pars = providers().pars;
  }
  if (options.use_crds_pars && pars && !input.empty()) {
    // Sub-step pars first (lower), then the class's own.
    auto proto = info.factory();
    if (auto* p = dynamic_cast<Pipeline*>(proto.get())) {
      for (const auto& [sname, cls] : p->step_defs()) {
        const StepClassInfo& sub = registry.get(cls);
        if (auto found = pars(sub.name, input)) {
          ConfigLayer l;
          l.source = ParamSource::kReferenceFile;
          l.origin = found->second;
          l.context.base_dir = fs::path(found->second).parent_path();
          found->first.erase("class");
          found->first.erase("name");
          l.tree = config::Tree{{"steps", config::Tree{{sname, found->first}}}};
          layers.push_back(std::move(l));
        }
      }
    }
    if (auto found = pars(info.name, input)) {
      ConfigLayer l;
      l.source = ParamSource::kReferenceFile;
      l.origin = found->second;
      l.context.base_dir = fs::path(found->second).parent_path();
      l.tree = found->first;
      layers.push_back(std::move(l));
    }
  }
  if (options.config_file) {
    ConfigLayer l;
    l.source = ParamSource::kConfigFile;
    l.origin = options.config_file->string();
    l.tree = load_config_file(*options.config_file);
    if (l.tree.contains("name") && l.tree["name"].is_string()) name = l.tree["name"];
    l.context.base_dir = fs::absolute(*options.config_file).parent_path();
    layers.push_back(std::move(l));
  }
  ConfigLayer o;
  o.source = ParamSource::kOverride;
  o.origin = options.from_command_line ? "command line" : "call arguments";
  o.tree = options.overrides;
  o.context.from_command_line = options.from_command_line;
  layers.push_back(std::move(o));
  auto step = from_layers(info.name, layers, name, registry);
  if (auto* p = dynamic_cast<Pipeline*>(step.get())) {
    if (!options.start_step.empty()) p->set_start_step(options.start_step);
    if (!options.end_step.empty()) p->set_end_step(options.end_step);
  } else if (!options.start_step.empty() || !options.end_step.empty()) {
    throw ConfigError("--start-step/--end-step apply to pipelines; '" + info.name + "' is a step");
  }
  if (!options.primary_input.empty()) step->input_filename_ = options.primary_input;
  if (options.save_results) step->force_save_ = true;
  return step;
}

Datum Step::call(const std::string& class_name, const Datum& input, const CallOptions& options,
                 const StepRegistry& registry) {
  auto step = build(class_name, input, options, registry);
  return step->run(input);
}

const config::Tree& Step::param(const std::string& key) const {
  auto it = params_.find(key);
  if (it == params_.end()) {
    throw ConfigError("Step '" + name_ + "' (" + class_name() + ") has no parameter '" + key + "'");
  }
  return *it;
}

void Step::set(const std::string& key, const nlohmann::json& value) {
  config::SpecSection spec = merged_spec();
  const auto* e = spec.find(key);
  if (!e || !e->check) throw ConfigError("Extra value '" + key + "' in root");
  try {
    params_[key] = config::check_value(*e->check, value);
  } catch (const config::CheckError& err) {
    throw ConfigError("Config parameter '" + key + "': " + err.what());
  }
  sources_[key] = ParamSource::kOverride;
}

ParamSource Step::source_of(const std::string& key) const {
  auto it = sources_.find(key);
  if (it == sources_.end()) {
    param(key);  // throws for unknown keys
    return ParamSource::kDefault;
  }
  return it->second;
}

config::Tree Step::get_pars() const {
  config::Tree out = params_;
  if (const auto* p = dynamic_cast<const Pipeline*>(this)) {
    config::Tree steps = config::Tree::object();
    for (const auto& [n, s] : p->steps()) steps[n] = s->get_pars();
    out["steps"] = std::move(steps);
  }
  return out;
}

std::string Step::qualified_name() const {
  return parent_ ? parent_->qualified_name() + "." + name_ : "stpipe." + name_;
}

spdlog::logger& Step::log() const {
  if (!logger_) logger_ = log::get(qualified_name());
  return *logger_;
}

std::string Step::reference_path(const std::string& reftype) const {
  auto it = ref_paths_.find(reftype);
  if (it == ref_paths_.end()) {
    throw ReferenceFileError("Step '" + name_ + "' has no " + reftype + " reference file resolved");
  }
  return it->second;
}

// ---------------------------------------------------------------- naming

std::string Step::input_filename() const {
  for (const Step* s = this; s; s = s->parent_) {
    if (!s->input_filename_.empty()) return s->input_filename_;
  }
  return "";
}

void Step::set_primary_input(const Datum& input) {
  if (!input_filename().empty()) return;
  if (input.is_path()) {
    input_filename_ = input.path();
    std::error_code ec;
    if (fs::is_regular_file(input.path(), ec))
      input_dir_ = fs::path(input.path()).parent_path().string();
  } else if (input.is_product() && input.product()) {
    input_filename_ = input.product()->filename();
  } else if (input.is_list() && !input.list().empty()) {
    set_primary_input(input.list().front());
  }
}

std::pair<std::string, std::string> Step::remove_suffix(const std::string& base) const {
  if (!strip_known_suffixes()) return {base, "_"};
  static std::mutex mutex;
  static std::map<const StepRegistry*, std::set<std::string>> cache;
  const StepRegistry& reg = registry_ ? *registry_ : StepRegistry::global();
  std::set<std::string> known;
  {
    std::lock_guard lock(mutex);
    auto& k = cache[&reg];
    if (k.empty()) {
      for (const char* s : {"uncal", "ramp", "rate", "rateints", "cal", "calints", "trapsfilled",
                            "dark", "i2d", "s2d", "x1d", "x1dints", "crf", "crfints"}) {
        k.insert(s);
      }
      for (const auto* info : reg.classes()) {
        k.insert(to_lower(info->name));
        for (const auto& a : info->aliases) {
          if (a.find('.') == std::string::npos && a.find(':') == std::string::npos)
            k.insert(to_lower(a));
        }
      }
    }
    known = k;
  }
  for (const Step* s = this; s; s = s->parent_) known.insert(to_lower(s->name_));
  // The shortest root: the suffix is the last "_x" or "-x" component that is known.
  for (std::size_t i = 1; i < base.size(); ++i) {
    if (base[i] != '_' && base[i] != '-') continue;
    std::string tail = base.substr(i + 1);
    if (known.count(to_lower(tail))) return {base.substr(0, i), std::string(1, base[i])};
  }
  return {base, "_"};
}

fs::path Step::make_output_path(const std::string& basepath, const std::string& ext,
                                std::optional<std::string> suffix, std::optional<int> idx) const {
  std::string base = basepath;
  if (base.empty() && get<bool>("search_output_file")) {
    for (const Step* s = this; s; s = s->parent_) {
      if (!s->is_none("output_file")) {
        base = s->get<std::string>("output_file");
        break;
      }
      if (!s->get<bool>("search_output_file")) break;
    }
  }
  std::string e = ext;
  if (e.empty() && !is_none("output_ext")) e = get<std::string>("output_ext");
  if (base.empty()) base = input_filename();
  bool default_base = false;
  if (base.empty()) {
    base = "step_" + name_ + (e.empty() ? "" : (e[0] == '.' ? e : "." + e));
    default_base = true;  // stpipe's fallback name keeps the step name as is
  }
  fs::path bp = fs::path(base).filename();
  std::string stem = bp.stem().string();
  std::string bext = bp.extension().string();
  if (e.empty()) e = bext;
  if (!e.empty() && e[0] == '.') e = e.substr(1);
  std::string sfx;
  if (suffix) {
    sfx = *suffix;
  } else {
    sfx = is_none("suffix") ? to_lower(name_) : get<std::string>("suffix");
  }
  std::string sep = "_";
  if (!sfx.empty() && !default_base) std::tie(stem, sep) = remove_suffix(stem);
  std::string name = stem;
  if (idx) name += "_" + std::to_string(*idx);
  if (!sfx.empty()) name += sep + sfx;
  if (!e.empty()) name += "." + e;
  std::string dir;
  for (const Step* s = this; s; s = s->parent_) {
    if (!s->is_none("output_dir")) {
      dir = expand_path(s->get<std::string>("output_dir"));
      break;
    }
  }
  return dir.empty() ? fs::path(name) : fs::path(dir) / name;
}

fs::path Step::save_path(const Product& product, std::optional<int> idx, bool force,
                         std::optional<std::string> suffix) const {
  bool output_file_set = false;
  if (get<bool>("search_output_file")) {
    for (const Step* s = this; s; s = s->parent_) {
      if (!s->is_none("output_file")) {
        output_file_set = true;
        break;
      }
      if (!s->get<bool>("search_output_file")) break;
    }
  }
  if (!(force || force_save_ || get<bool>("save_results") || !is_none("output_file"))) return {};
  std::string basepath;
  if (get<bool>("output_use_model") || (!output_file_set && !get<bool>("search_output_file"))) {
    basepath = product.filename();
    idx.reset();
  }
  std::string ext =
      is_none("output_ext") ? product.default_extension() : get<std::string>("output_ext");
  return make_output_path(basepath, ext, suffix, idx);
}

fs::path Step::save_model(Product& product, std::optional<int> idx, bool force,
                          std::optional<std::string> suffix) {
  fs::path path = save_path(product, idx, force, std::move(suffix));
  if (path.empty()) return {};
  product.save(path);
  wait_background_saves();
  log().info("Saved model in {}", path.string());
  return path;
}

fs::path Step::input_path(const Datum& input) const {
  fs::path p = input.path();
  if (p.is_relative() && !input_dir_.empty() && !fs::exists(p)) p = fs::path(input_dir_) / p;
  if (!is_none("input_dir") && p.is_relative()) p = fs::path(get<std::string>("input_dir")) / p;
  return p;
}

ProductPtr Step::open_model(const Datum& input) const {
  if (input.is_product()) return input.product();
  if (input.is_path()) return open_product(input_path(input));
  throw IoError("Step '" + name_ + "' expects a model or a file name, got " + input.describe());
}

// ---------------------------------------------------------------- references

void Step::resolve_references(Product& product) {
  ref_paths_.clear();
  refs_used_.clear();
  std::vector<std::string> lookup;
  for (const auto& t : reference_file_types()) {
    const auto& ov = param("override_" + t);
    if (!ov.is_null() && ov.is_string() && !ov.get<std::string>().empty()) {
      std::string v = ov.get<std::string>();
      if (v == "N/A") {
        ref_paths_[t] = "N/A";
        refs_used_.emplace_back(t, "N/A");
      } else {
        if (!fs::exists(v)) {
          throw ReferenceFileError("Override for " + t + " reference file '" + v +
                                   "' does not exist");
        }
        std::string abs = fs::absolute(v).string();
        ref_paths_[t] = abs;
        refs_used_.emplace_back(t, abs);
      }
      log().info("Override for {} reference file is '{}'.", t, ref_paths_[t]);
      continue;
    }
    lookup.push_back(t);
  }
  if (lookup.empty()) return;
  ReferenceResolver resolver;
  {
    std::lock_guard lock(providers().mutex);
    resolver = providers().refs;
  }
  // Types the step can do without are looked up one by one; a failure is only a warning.
  const auto defaulted = defaulted_reference_file_types();
  auto can_default = [&](const std::string& t) {
    return std::find(defaulted.begin(), defaulted.end(), t) != defaulted.end();
  };
  std::vector<std::string> strict;
  for (const auto& t : lookup) {
    if (!can_default(t)) {
      strict.push_back(t);
      continue;
    }
    std::string why = "no reference-data system is configured";
    if (resolver) {
      try {
        auto found = resolver({t}, product);
        auto it = found.find(t);
        if (it != found.end() && it->second.path != "N/A") {
          ref_paths_[t] = it->second.path;
          refs_used_.emplace_back(t, it->second.recorded);
          log().info("Using {} reference file {}", t, it->second.recorded);
          continue;
        }
        why = it == found.end() ? "no match" : "N/A";
      } catch (const Error& e) {
        why = e.what();
      }
    }
    ref_paths_[t] = "";
    log().warn("Unable to retrieve {} reference file ({}): the step uses default values.", t, why);
  }
  lookup = std::move(strict);
  if (lookup.empty()) return;
  if (!resolver) {
    throw ReferenceFileError("Step '" + name_ + "' needs " + lookup.front() +
                             " reference file(s) but no reference-data system is configured; "
                             "give --override_" +
                             lookup.front() + "=PATH");
  }
  auto found = resolver(lookup, product);
  for (const auto& t : lookup) {
    auto it = found.find(t);
    if (it == found.end()) {
      throw ReferenceFileError("No " + t + " reference file found for step '" + name_ + "'");
    }
    ref_paths_[t] = it->second.path;
    refs_used_.emplace_back(t, it->second.recorded);
    log().info("Using {} reference file {}", t, it->second.recorded);
  }
}

Datum Step::prefetch(const Datum& input) { return input; }

Datum Step::take_input(const Datum& input) {
  if (run_args_ != &input) return input;
  Datum taken = std::move(*run_args_);
  *run_args_ = Datum();
  return taken;
}

// ---------------------------------------------------------------- run

Datum Step::run(Datum input) {
  auto t0 = std::chrono::steady_clock::now();
  skipped_ = false;
  log().info("Step {} running with args ({}).", name_, input.describe());
  if (!parent_ && log().should_log(spdlog::level::info)) {
    std::string lines;
    for (auto it = params_.begin(); it != params_.end(); ++it) {
      lines += "\n  " + it.key() + ": " + format_value(*it);
    }
    log().info("Step {} parameters are:{}", name_, lines);
  }
  set_primary_input(input);
  if (!is_none("output_dir")) {
    std::string dir = expand_path(get<std::string>("output_dir"));
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw IoError("Cannot create output directory '" + dir + "': " + ec.message());
  }
  Datum args = run_hooks("pre_hooks", input);
  input = Datum();  // `args` is the one copy run() keeps
  bool skip = get<bool>("skip");
  if (skip && !parent_) {
    log().info("Step run as standalone, so skip set to False");
    skip = false;
  }
  Datum result;
  suppress_save_ = false;
  if (skip) {
    log().info("Step skipped.");
    skipped_ = true;
    std::vector<ProductPtr> ps;
    products_of(args, ps);
    if (!cal_step_key().empty()) {
      for (auto& p : ps) {
        if (p->has_cal_step()) p->set_cal_step(cal_step_key(), "SKIPPED");
      }
    }
    result = args;
  } else {
    args = prefetch(args);
    bool not_applicable = false;
    if (!reference_file_types().empty()) {
      ProductPtr p = open_model(args);
      args = p;
      resolve_references(*p);
      auto optional = optional_reference_file_types();
      for (const auto& t : defaulted_reference_file_types()) optional.push_back(t);
      for (const auto& [t, path] : ref_paths_) {
        if (path == "N/A" && std::find(optional.begin(), optional.end(), t) == optional.end()) {
          log().info("Reference file for {} is N/A: step skipped.", t);
          not_applicable = true;
        }
      }
      if (not_applicable) {
        skipped_ = true;
        if (!cal_step_key().empty() && p->has_cal_step())
          p->set_cal_step(cal_step_key(), "SKIPPED");
        for (const auto& [t, name] : refs_used_) p->record_reference(t, name);
        result = args;
      }
    }
    if (!not_applicable) {
      try {
        struct Release {  // take_input() may take `args` over only during process()
          Datum*& slot;
          ~Release() { slot = nullptr; }
        } release{run_args_};
        run_args_ = &args;
        result = process(args);
      } catch (const Error&) {
        throw;
      } catch (const std::exception& e) {
        throw StepError("Step '" + name_ + "' (" + class_name() + ") failed: " + e.what());
      }
    }
  }
  result = run_hooks("post_hooks", result);
  if (!skipped_) {
    std::vector<ProductPtr> ps;
    products_of(result, ps);
    for (auto& p : ps) {
      for (const auto& [t, name] : refs_used_) p->record_reference(t, name);
      if (!cal_step_key().empty() && p->has_cal_step() && !p->cal_step(cal_step_key())) {
        p->set_cal_step(cal_step_key(), "COMPLETE");
      }
    }
    bool save = force_save_ || get<bool>("save_results") || !is_none("output_file");
    if (save && !suppress_save_) {
      if (result.is_product()) {
        save_model(*result.product(), std::nullopt, true);
      } else if (result.is_list()) {
        int i = 0;
        for (auto& item : result.list()) {
          if (item.is_product()) save_model(*item.product(), i, true);
          ++i;
        }
      } else if (!result.empty() && !result.is_path()) {
        log().warn("`save_results` has been requested, but cannot determine filename.");
      }
    }
  }
  wait_background_saves();
  elapsed_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!skipped_) log().info("Step {} done ({:.3f} s)", name_, elapsed_);
  return result;
}

Datum Step::run_hooks(const char* kind, const Datum& data) {
  const auto& list = param(kind);
  if (!list.is_array() || list.empty()) return data;
  Datum current = data;
  const std::string prefix = std::string(kind) == "pre_hooks" ? "pre_hook" : "post_hook";
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::string text = list[i].is_string() ? list[i].get<std::string>() : list[i].dump();
    std::string hook_name = prefix + std::to_string(i);
    auto hook = detail::make_hook(*this, text, hook_name);
    hook->parent_ = this;
    hook->logger_.reset();
    Datum r = hook->run(current);
    if (!r.empty()) current = r;
  }
  return current;
}

}  // namespace stpipe
