// libFuzzer target for the ASDF reader: any input must give a file or an IoError, never a crash;
// a parsed tree must survive emit -> parse unchanged, and ndarray reads must stay in bounds.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "stpipe/asdf/asdf_file.h"
#include "stpipe/asdf/ndarray.h"
#include "stpipe/asdf/yaml.h"
#include "stpipe/util/error.h"

using namespace stpipe::asdf;

namespace {

void visit_arrays(const AsdfFile& f, const Json& node, int depth) {
  if (depth > 64) return;
  if (is_ndarray(node)) {
    try {
      NdArrayInfo info = f.resolve(node);
      if (info.nbytes() <= (std::size_t{1} << 24)) f.read_array(node);
    } catch (const stpipe::IoError&) {
    }
  }
  if (node.is_structured())
    for (const auto& child : node) visit_arrays(f, child, depth + 1);
}

void check_round_trip(const Json& tree, const std::string& root_tag) {
  std::string text;
  try {
    text = "%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n" + emit_yaml(tree, root_tag);
  } catch (const stpipe::IoError&) {
    return;  // e.g. a string that is not UTF-8 cannot be written
  }
  YamlDocument back = parse_yaml(text, "round trip", 400);
  if (to_text(back.tree, 1u << 20) != to_text(tree, 1u << 20) || back.root_tag != root_tag) {
    std::fprintf(stderr, "round trip changed the tree\nbefore: %s\nafter:  %s\nyaml:\n%s\n",
                 to_text(tree).c_str(), to_text(back.tree).c_str(), text.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> bytes(data, data + size);
  // The whole file format.
  try {
    AsdfFile f = AsdfFile::from_bytes(bytes, "fuzz.asdf");
    visit_arrays(f, f.tree(), 0);
    check_round_trip(f.tree(), f.root_tag());
  } catch (const stpipe::IoError&) {
  }
  // The bare YAML layer, without the ASDF header.
  try {
    YamlDocument d =
        parse_yaml(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
    check_round_trip(d.tree, d.root_tag);
  } catch (const stpipe::IoError&) {
  }
  return 0;
}
