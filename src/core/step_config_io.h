// stpipe step_config parameter files (.asdf/.yaml): class, name, parameters, steps.
#pragma once

#include <filesystem>
#include <string>

#include "stpipe/config/configobj.h"

namespace stpipe {

/// Reads a step_config file into the ConfigObj-shaped tree strun uses (parameters at the top,
/// "class", "name", sub-steps under "steps" keyed by name). Throws ConfigError/IoError.
config::Tree load_step_config_yaml(const std::filesystem::path& path);

/// Writes parameters (as get_pars gives them) in the step_config layout; `.asdf` gets the ASDF
/// header and tag, `.yaml` plain YAML. Throws IoError.
void write_step_config_yaml(const std::filesystem::path& path, const std::string& class_name,
                            const std::string& name, const config::Tree& pars);

}  // namespace stpipe
