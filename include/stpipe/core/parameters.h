// Parameter layers and their resolution against a configspec: precedence and provenance.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "stpipe/config/configspec.h"

namespace stpipe {

/// Where a parameter value came from, lowest precedence first.
enum class ParamSource {
  kDefault = 0,         ///< the spec's default
  kReferenceFile = 1,   ///< a CRDS pars-<class> reference file
  kStepConfigFile = 2,  ///< a sub-step's config_file named in the user's config
  kConfigFile = 3,      ///< the user's config file (strun FILE, call(config_file=...))
  kOverride = 4,        ///< the command line or call() keyword arguments
};

/// "default", "reference file", "step config file", "config file", "command line".
const char* source_name(ParamSource source);

/// One layer of configuration: a ConfigObj tree rooted at the top step (sub-steps under
/// "steps"), with the context its paths resolve in.
struct ConfigLayer {
  ParamSource source = ParamSource::kOverride;
  config::Tree tree = config::Tree::object();
  config::CheckContext context;
  std::string origin;  ///< file name or "command line", for messages
};

/// Typed, validated parameters of one step (sub-steps under "steps") and the source of each.
struct ResolvedParams {
  config::Tree values = config::Tree::object();
  std::map<std::string, ParamSource> sources;  ///< "a/b/key" -> source
};

/// Merges the layers over the spec: for every key the highest layer that sets it wins, checked
/// with that layer's context; keys no layer sets get the spec default. Throws ConfigError listing
/// every failure in stpipe's words (`Config parameter 'steps/jump/x': the value "a" is of the
/// wrong type.`, `Config parameter 'p': missing`, first `Extra value 'bogus' in root`).
ResolvedParams resolve_parameters(const config::SpecSection& spec,
                                  const std::vector<ConfigLayer>& layers);

/// Renders a typed value as stpipe logs it (True/False/None, lists in brackets).
std::string format_value(const nlohmann::json& value);

}  // namespace stpipe
