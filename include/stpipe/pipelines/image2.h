// Image2Pipeline (calwebb_image2, imaging subset): rate image -> flat-fielded cal product.
#pragma once

#include "stpipe/core/step.h"

namespace stpipe {

/// Linear Image2 subset: flat_field on a rate (or rateints) product; suffix "cal".
class Image2Pipeline : public Pipeline {
 public:
  std::string class_name() const override { return "Image2Pipeline"; }
  std::vector<std::string> aliases() const override {
    return {"calwebb_image2", "jwst.pipeline.Image2Pipeline",
            "jwst.pipeline.calwebb_image2.Image2Pipeline"};
  }
  std::string doc() const override { return "Imaging stage 2 (flat field) on rate products"; }
  std::string spec() const override {
    return "save_bsub = boolean(default=False)  # Unused (jwst compatibility)\n"
           "suffix = string(default='cal')  # Default suffix of the final product\n";
  }
  std::vector<std::pair<std::string, std::string>> step_defs() const override {
    return {{"flat_field", "FlatFieldStep"}};
  }
};

}  // namespace stpipe
